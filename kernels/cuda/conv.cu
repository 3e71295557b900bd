// Convolutions through cuDNN (legacy API), NHWC activations and KRSC filters
// (float64: NCHW / KCRS copies, see layout_for).
//
// Each call builds its descriptors (cheap host work), picks the algorithm
// from a cache keyed by the whole problem (pass, shape, parameters, dtype,
// math mode, device) and takes its workspace from the caching allocator as
// a tensor, so that no cudaMalloc happens once shapes have been seen.
// Selection uses cuDNN's heuristics (the *_v7 queries): they run no kernels,
// so a first call inside a CUDA graph capture is still safe.
#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv.h"
#include "kernels/cuda/conv_layout.h"
#include "kernels/cuda/cudnn_check.h"
#include "kernels/cuda/pointwise_conv.h"

namespace posenet::kernels::cuda {

namespace {

std::atomic<bool> g_allow_tf32{true};
std::atomic<Conv1x1Backend> g_conv1x1_backend{Conv1x1Backend::CuDNN};

bool use_cublas(const ConvGeometry& g) {
  return g.is_pointwise() && g_conv1x1_backend.load() == Conv1x1Backend::CuBLAS;
}

// Upper bound on an algorithm's scratch memory; faster algorithms that need
// more are passed over.
constexpr size_t kMaxWorkspaceBytes = size_t(1) << 30;

cudnnDataType_t cudnn_dtype(DType t) {
  switch (t) {
    case DType::F32: return CUDNN_DATA_FLOAT;
    case DType::F64: return CUDNN_DATA_DOUBLE;
    case DType::F16: return CUDNN_DATA_HALF;
    case DType::BF16: return CUDNN_DATA_BFLOAT16;
    case DType::U8: break;  // image data, never a convolution's
  }
  PN_FAIL("conv (CUDA): unknown dtype");
}

// 16-bit storage computes in float32 (the mixed-precision contract).
cudnnDataType_t cudnn_compute_type(DType t) { return t == DType::F64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT; }

int to_int(int64_t v, const char* what) {
  PN_CHECK(v >= 0 && v <= INT_MAX, "conv (CUDA): ", what, " = ", v, " is too large for cuDNN");
  return int(v);
}

// One cuDNN handle per device, never destroyed (tensors and kernels may
// still run during static destruction); bound to posenet's stream per call.
cudnnHandle_t handle() {
  int device = 0;
  PN_CUDA_CHECK(cudaGetDevice(&device));
  static std::mutex mu;
  static auto* handles = new std::unordered_map<int, cudnnHandle_t>();
  cudnnHandle_t h = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = handles->find(device);
    if (it == handles->end()) {
      PN_CUDNN_CHECK(cudnnCreate(&h));
      handles->emplace(device, h);
    } else {
      h = it->second;
    }
  }
  PN_CUDNN_CHECK(cudnnSetStream(h, current_stream(device)));
  return h;
}

// Activations and filters are NHWC / KRSC in memory. cuDNN has no NHWC
// kernels for float64 (PyTorch keeps float64 convolutions in NCHW for the
// same reason), so float64 problems run in NCHW / KCRS on transposed copies.
enum class Layout : int64_t { NHWC, NCHW };
Layout layout_for(DType t) { return t == DType::F64 ? Layout::NCHW : Layout::NHWC; }
cudnnTensorFormat_t cudnn_format(Layout l) { return l == Layout::NCHW ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC; }

struct TensorDesc {
  cudnnTensorDescriptor_t d = nullptr;
  // cudnnSetTensor4dDescriptor takes (n, c, h, w) whatever the format.
  TensorDesc(DType t, Layout l, int64_t n, int64_t c, int64_t h, int64_t w) {
    // The legacy API indexes with 32-bit integers: more elements than that
    // would be rejected (or mis-addressed) inside cuDNN.
    PN_CHECK(n * c * h * w <= INT_MAX, "conv (CUDA): a tensor of ", n, "x", h, "x", w, "x", c, " = ", n * c * h * w,
             " elements is too large for cuDNN (at most 2^31 - 1); lower the batch size");
    PN_CUDNN_CHECK(cudnnCreateTensorDescriptor(&d));
    PN_CUDNN_CHECK(cudnnSetTensor4dDescriptor(d, cudnn_format(l), cudnn_dtype(t), to_int(n, "N"), to_int(c, "C"),
                                              to_int(h, "H"), to_int(w, "W")));
  }
  ~TensorDesc() { cudnnDestroyTensorDescriptor(d); }
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
};

struct FilterDesc {
  cudnnFilterDescriptor_t d = nullptr;
  // NHWC filter format is KRSC, NCHW is KCRS; the extents are (k, c, r, s) in both.
  FilterDesc(DType t, Layout l, int64_t k, int64_t c, int64_t r, int64_t s) {
    PN_CUDNN_CHECK(cudnnCreateFilterDescriptor(&d));
    PN_CUDNN_CHECK(cudnnSetFilter4dDescriptor(d, cudnn_dtype(t), cudnn_format(l), to_int(k, "K"), to_int(c, "C"),
                                              to_int(r, "R"), to_int(s, "S")));
  }
  ~FilterDesc() { cudnnDestroyFilterDescriptor(d); }
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
};

struct ConvDesc {
  cudnnConvolutionDescriptor_t d = nullptr;
  ConvDesc(const ConvGeometry& g, DType t) {
    PN_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&d));
    PN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(d, g.pad_h, g.pad_w, g.stride_h, g.stride_w, g.dilation_h,
                                                   g.dilation_w, CUDNN_CROSS_CORRELATION, cudnn_compute_type(t)));
  }
  ~ConvDesc() { cudnnDestroyConvolutionDescriptor(d); }
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
};

// The descriptors of one conv2d problem x [N,H,W,C] * w [K,R,S,C] -> y [N,P,Q,K].
struct Problem {
  TensorDesc x, y;
  FilterDesc w;
  ConvDesc conv;
  Problem(const ConvGeometry& g, DType t, Layout l)
      : x(t, l, g.N, g.C, g.H, g.W), y(t, l, g.N, g.K, g.P, g.Q), w(t, l, g.K, g.C, g.R, g.S), conv(g, t) {
    // cuDNN derives y's extent from x's; a transposed convolution whose
    // output padding is not below its stride has a y that is smaller.
    int n = 0, c = 0, h = 0, wd = 0;
    PN_CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(conv.d, x.d, w.d, &n, &c, &h, &wd));
    PN_CHECK(n == g.N && c == g.K && h == g.P && wd == g.Q, "conv (CUDA): cuDNN computes an output of [", n, ", ",
             h, ", ", wd, ", ", c, "] for this problem but [", g.N, ", ", g.P, ", ", g.Q, ", ", g.K,
             "] is needed (a transposed convolution with output padding >= stride is not supported on CUDA)");
  }
};

enum class Pass : int64_t { Forward, BackwardData, BackwardFilter };

struct Algo {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

using AlgoKey = std::array<int64_t, 20>;

AlgoKey make_key(Pass pass, const ConvGeometry& g, DType t, bool tf32, int device) {
  return {int64_t(pass), g.N, g.H, g.W, g.C, g.K, g.R, g.S, g.P, g.Q, g.stride_h, g.stride_w,
          g.pad_h, g.pad_w, g.dilation_h, g.dilation_w, int64_t(t), tf32 ? 1 : 0, device, int64_t(layout_for(t))};
}

std::mutex& cache_mutex() {
  static std::mutex m;
  return m;
}
std::map<AlgoKey, Algo>& algo_cache() {
  static auto* cache = new std::map<AlgoKey, Algo>();
  return *cache;
}

// The math mode asked of cuDNN before the query, and whether a result's
// mode is acceptable: float32 without TF32 must stay on FMA math.
cudnnMathType_t requested_math(DType t, bool tf32) {
  if (t == DType::F16 || t == DType::BF16) return CUDNN_TENSOR_OP_MATH;
  if (t == DType::F32 && !tf32) return CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}
bool math_allowed(cudnnMathType_t m, DType t, bool tf32) {
  if (t == DType::F32 && !tf32) return m == CUDNN_FMA_MATH || m == CUDNN_DEFAULT_MATH;
  return true;
}

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::Forward: return "forward";
    case Pass::BackwardData: return "backward-data";
    case Pass::BackwardFilter: return "backward-filter";
  }
  return "?";
}

// Picks the first (fastest by cuDNN's estimate) usable algorithm from the
// heuristics' ranked list, then asks for its exact workspace. Only
// deterministic ones are usable: posenet's results repeat bit for bit, and
// some backward algorithms accumulate with atomics in a varying order.
template <typename Perf, typename QueryFn, typename WorkspaceFn>
Algo select_algo(Pass pass, const ConvGeometry& g, DType t, bool tf32, Problem& prob, int max_count, QueryFn query,
                 WorkspaceFn workspace_size) {
  PN_CUDNN_CHECK(cudnnSetConvolutionMathType(prob.conv.d, requested_math(t, tf32)));
  std::vector<Perf> perf(size_t(max_count > 0 ? max_count : 1));
  int returned = 0;
  query(int(perf.size()), &returned, perf.data());
  for (int i = 0; i < returned; ++i) {
    const Perf& p = perf[size_t(i)];
    if (p.status != CUDNN_STATUS_SUCCESS || p.determinism != CUDNN_DETERMINISTIC || p.memory > kMaxWorkspaceBytes ||
        !math_allowed(p.mathType, t, tf32))
      continue;
    Algo a;
    a.algo = int(p.algo);
    // Without TF32, keep FMA math even where the heuristic reports default.
    a.math = (t == DType::F32 && !tf32) ? CUDNN_FMA_MATH : p.mathType;
    PN_CUDNN_CHECK(cudnnSetConvolutionMathType(prob.conv.d, a.math));
    a.workspace = workspace_size(a.algo);
    return a;
  }
  PN_FAIL("conv (CUDA): cuDNN offers no deterministic ", pass_name(pass), " algorithm for ", dtype_name(t),
          layout_for(t) == Layout::NCHW ? " NCHW" : " NHWC", " x [", g.N,
          ", ", g.H, ", ", g.W, ", ", g.C, "], w [", g.K, ", ", g.R, ", ", g.S, ", ", g.C, "], stride (", g.stride_h,
          ", ", g.stride_w, "), padding (", g.pad_h, ", ", g.pad_w, "), dilation (", g.dilation_h, ", ",
          g.dilation_w, ")");
}

Algo find_algo(Pass pass, cudnnHandle_t h, const ConvGeometry& g, DType t, Problem& prob) {
  const bool tf32 = g_allow_tf32.load();
  int device = 0;
  PN_CUDA_CHECK(cudaGetDevice(&device));
  const AlgoKey key = make_key(pass, g, t, tf32, device);
  {
    std::lock_guard<std::mutex> lock(cache_mutex());
    auto it = algo_cache().find(key);
    if (it != algo_cache().end()) {
      PN_CUDNN_CHECK(cudnnSetConvolutionMathType(prob.conv.d, it->second.math));
      return it->second;
    }
  }
  Algo a;
  if (pass == Pass::Forward) {
    int count = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithmMaxCount(h, &count));
    a = select_algo<cudnnConvolutionFwdAlgoPerf_t>(
        pass, g, t, tf32, prob, count,
        [&](int n, int* got, cudnnConvolutionFwdAlgoPerf_t* out) {
          PN_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, prob.x.d, prob.w.d, prob.conv.d, prob.y.d, n, got,
                                                                out));
        },
        [&](int algo) {
          size_t bytes = 0;
          PN_CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(h, prob.x.d, prob.w.d, prob.conv.d, prob.y.d,
                                                                 cudnnConvolutionFwdAlgo_t(algo), &bytes));
          return bytes;
        });
  } else if (pass == Pass::BackwardData) {
    int count = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, &count));
    a = select_algo<cudnnConvolutionBwdDataAlgoPerf_t>(
        pass, g, t, tf32, prob, count,
        [&](int n, int* got, cudnnConvolutionBwdDataAlgoPerf_t* out) {
          PN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, prob.w.d, prob.y.d, prob.conv.d, prob.x.d, n,
                                                                     got, out));
        },
        [&](int algo) {
          size_t bytes = 0;
          PN_CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(h, prob.w.d, prob.y.d, prob.conv.d, prob.x.d,
                                                                      cudnnConvolutionBwdDataAlgo_t(algo), &bytes));
          return bytes;
        });
  } else {
    int count = 0;
    PN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, &count));
    a = select_algo<cudnnConvolutionBwdFilterAlgoPerf_t>(
        pass, g, t, tf32, prob, count,
        [&](int n, int* got, cudnnConvolutionBwdFilterAlgoPerf_t* out) {
          PN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, prob.x.d, prob.y.d, prob.conv.d, prob.w.d,
                                                                       n, got, out));
        },
        [&](int algo) {
          size_t bytes = 0;
          PN_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
              h, prob.x.d, prob.y.d, prob.conv.d, prob.w.d, cudnnConvolutionBwdFilterAlgo_t(algo), &bytes));
          return bytes;
        });
  }
  std::lock_guard<std::mutex> lock(cache_mutex());
  algo_cache().emplace(key, a);
  return a;
}

// Scratch memory as a tensor from the caching allocator; freed back to the
// cache when the call returns (stream order keeps reuse safe).
Tensor workspace_tensor(size_t bytes, Device device) {
  if (bytes == 0) return Tensor();
  return Tensor::empty({int64_t((bytes + sizeof(float) - 1) / sizeof(float))}, DType::F32, device);
}

// alpha = 1, beta = 0, in the type cuDNN expects: double for double data,
// float otherwise.
struct Scaling {
  double d_one = 1.0, d_zero = 0.0;
  float f_one = 1.0f, f_zero = 0.0f;
  bool is_double;
  explicit Scaling(DType t) : is_double(t == DType::F64) {}
  const void* one() const { return is_double ? static_cast<const void*>(&d_one) : &f_one; }
  const void* zero() const { return is_double ? static_cast<const void*>(&d_zero) : &f_zero; }
};

// An operand in the problem's layout: the tensor itself for NHWC, else a
// channels-first copy (or scratch for an output, see store()).
struct Operand {
  Tensor t;
  int64_t S = 1, C = 1;
  Layout layout = Layout::NHWC;
  Operand(const Tensor& src, Layout l, int64_t spatial, int64_t channels, bool is_output)
      : S(spatial), C(channels), layout(l) {
    if (l == Layout::NHWC) {
      t = src;
      return;
    }
    t = Tensor::empty({src.numel()}, src.dtype(), src.device());
    if (is_output) return;
    to_channels_first(src, t, S, C);
  }
  void* data() const { return t.raw_data(); }
  // Writes a channels-first result back into the channels-last dst.
  void store(Tensor& dst) const {
    if (layout == Layout::NHWC) return;
    to_channels_last(t, dst, S, C);
  }
};

}  // namespace

cudnnHandle_t cudnn_handle() { return handle(); }

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }
void set_conv1x1_backend(Conv1x1Backend backend) { g_conv1x1_backend.store(backend); }
Conv1x1Backend conv1x1_backend() { return g_conv1x1_backend.load(); }

void conv2d_forward(const Tensor& x, const Tensor& w, Tensor& y, const ConvGeometry& g) {
  if (use_cublas(g)) return pointwise_conv_forward(x, w, y, g);
  cudnnHandle_t h = handle();
  const Layout l = layout_for(x.dtype());
  Problem prob(g, x.dtype(), l);
  const Algo a = find_algo(Pass::Forward, h, g, x.dtype(), prob);
  const Operand xo(x, l, g.H * g.W, g.C, false), wo(w, l, g.R * g.S, g.C, false), yo(y, l, g.P * g.Q, g.K, true);
  Tensor ws = workspace_tensor(a.workspace, x.device());
  Scaling s(x.dtype());
  PN_CUDNN_CHECK(cudnnConvolutionForward(h, s.one(), prob.x.d, xo.data(), prob.w.d, wo.data(), prob.conv.d,
                                         cudnnConvolutionFwdAlgo_t(a.algo), ws.defined() ? ws.raw_data() : nullptr,
                                         a.workspace, s.zero(), prob.y.d, yo.data()));
  yo.store(y);
}

void conv2d_backward_data(const Tensor& dy, const Tensor& w, Tensor& dx, const ConvGeometry& g) {
  if (use_cublas(g)) return pointwise_conv_backward_data(dy, w, dx, g);
  cudnnHandle_t h = handle();
  const Layout l = layout_for(dy.dtype());
  Problem prob(g, dy.dtype(), l);
  const Algo a = find_algo(Pass::BackwardData, h, g, dy.dtype(), prob);
  const Operand dyo(dy, l, g.P * g.Q, g.K, false), wo(w, l, g.R * g.S, g.C, false),
      dxo(dx, l, g.H * g.W, g.C, true);
  Tensor ws = workspace_tensor(a.workspace, dy.device());
  Scaling s(dy.dtype());
  PN_CUDNN_CHECK(cudnnConvolutionBackwardData(h, s.one(), prob.w.d, wo.data(), prob.y.d, dyo.data(), prob.conv.d,
                                              cudnnConvolutionBwdDataAlgo_t(a.algo),
                                              ws.defined() ? ws.raw_data() : nullptr, a.workspace, s.zero(),
                                              prob.x.d, dxo.data()));
  dxo.store(dx);
}

void conv2d_backward_weight(const Tensor& x, const Tensor& dy, Tensor& dw, const ConvGeometry& g) {
  if (use_cublas(g)) return pointwise_conv_backward_weight(x, dy, dw, g);
  cudnnHandle_t h = handle();
  const Layout l = layout_for(x.dtype());
  Problem prob(g, x.dtype(), l);
  const Algo a = find_algo(Pass::BackwardFilter, h, g, x.dtype(), prob);
  const Operand xo(x, l, g.H * g.W, g.C, false), dyo(dy, l, g.P * g.Q, g.K, false),
      dwo(dw, l, g.R * g.S, g.C, true);
  Tensor ws = workspace_tensor(a.workspace, x.device());
  Scaling s(x.dtype());
  PN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, s.one(), prob.x.d, xo.data(), prob.y.d, dyo.data(), prob.conv.d,
                                                cudnnConvolutionBwdFilterAlgo_t(a.algo),
                                                ws.defined() ? ws.raw_data() : nullptr, a.workspace, s.zero(),
                                                prob.w.d, dwo.data()));
  dwo.store(dw);
}

}  // namespace posenet::kernels::cuda
