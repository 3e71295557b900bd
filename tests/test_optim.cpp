#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/optim.h"
#include "test_util.h"

namespace posenet {
namespace {

using testing::random_tensor;

Tensor param_of(std::vector<double> values) {
  return Tensor::from_data({int64_t(values.size())}, values).set_requires_grad(true);
}
void set_grad(Tensor& p, std::vector<double> g) { p.set_grad(Tensor::from_data(p.shape(), g, p.dtype())); }

// The expected values below were computed by hand (in Python floats) with
// torch.optim's single-tensor formulas, operation by operation:
//   SGD(lr=0.1, momentum=0.9, weight_decay=0.1), p0 = 1, grads 0.5, -0.25, 1.0
//   Adam(lr=0.1, betas=(0.9, 0.999), eps=1e-8), p0 = 1, same grads.
TEST(Optimizer, SgdMomentumWeightDecayHandExample) {
  Tensor p = param_of({1.0});
  SGD opt({p}, {0.1, 0.9, 0.1, false});
  const double grads[] = {0.5, -0.25, 1.0};
  const double want[] = {0.94, 0.9016, 0.7580239999999999};
  for (int t = 0; t < 3; ++t) {
    set_grad(p, {grads[t]});
    opt.step();
    EXPECT_EQ(p.item(), want[t]) << "step " << t + 1;
  }
  // The momentum buffer: 0.6, then 0.9 * 0.6 - 0.156, then 0.9 * 0.384 + 1.09016.
  EXPECT_NEAR(opt.state().at("momentum_buffer.0").item(), 1.43576, 1e-15);
}

TEST(Optimizer, AdamHandExample) {
  Tensor p = param_of({1.0});
  Adam opt({p}, {0.1, 0.9, 0.999, 1e-8, 0.0});
  const double grads[] = {0.5, -0.25, 1.0};
  const double want_p[] = {0.900000002, 0.8733662987078463, 0.8075551396770898};
  const double want_m[] = {0.04999999999999999, 0.019999999999999997, 0.11799999999999997};
  const double want_v[] = {0.0002500000000000002, 0.0003122500000000003, 0.0013119377500000011};
  for (int t = 0; t < 3; ++t) {
    set_grad(p, {grads[t]});
    opt.step();
    EXPECT_EQ(p.item(), want_p[t]) << "step " << t + 1;
    EXPECT_EQ(opt.state().at("exp_avg.0").item(), want_m[t]);
    EXPECT_EQ(opt.state().at("exp_avg_sq.0").item(), want_v[t]);
  }
  EXPECT_EQ(opt.steps(), 3);
  EXPECT_EQ(opt.state().at("step").item(), 3.0);
}

// Independent scalar transcriptions of torch.optim (single-tensor path).
double torch_sgd(double p, const std::vector<double>& grads, double lr, double mom, double wd, bool nesterov) {
  double buf = 0;
  for (size_t t = 0; t < grads.size(); ++t) {
    double g = grads[t] + wd * p;
    if (mom != 0) {
      buf = t == 0 ? g : buf * mom + g;
      g = nesterov ? g + mom * buf : buf;
    }
    p = p + (-lr) * g;
  }
  return p;
}
double torch_adam(double p, const std::vector<double>& grads, double lr, double b1, double b2, double eps, double wd) {
  double m = 0, v = 0;
  for (size_t t = 0; t < grads.size(); ++t) {
    const double g = grads[t] + wd * p;
    m = m + (1 - b1) * (g - m);  // lerp with weight < 0.5
    v = v * b2;
    v = v + (1 - b2) * g * g;
    const double step_size = lr / (1 - std::pow(b1, double(t + 1)));
    const double denom = std::sqrt(v) / std::sqrt(1 - std::pow(b2, double(t + 1))) + eps;
    p = p + (-step_size) * m / denom;
  }
  return p;
}

TEST(Optimizer, SgdVariantsMatchTorchFormulasBitForBit) {
  Generator gen(31);
  struct Case {
    double lr, mom, wd;
    bool nesterov;
  };
  for (const Case& c : {Case{0.05, 0.0, 0.0, false}, Case{0.05, 0.9, 1e-4, false}, Case{0.02, 0.8, 0.01, true}}) {
    Tensor p = random_tensor({5}, gen).set_requires_grad(true);
    const auto p0 = p.to_vector();
    std::vector<std::vector<double>> grads(5);
    SGD opt({p}, {c.lr, c.mom, c.wd, c.nesterov});
    for (int t = 0; t < 3; ++t) {
      std::vector<double> g = random_tensor({5}, gen).to_vector();
      for (size_t i = 0; i < 5; ++i) grads[i].push_back(g[i]);
      set_grad(p, g);
      opt.step();
    }
    const auto got = p.to_vector();
    for (size_t i = 0; i < 5; ++i) EXPECT_EQ(got[i], torch_sgd(p0[i], grads[i], c.lr, c.mom, c.wd, c.nesterov));
  }
}

TEST(Optimizer, AdamWithWeightDecayMatchesTorchFormulasBitForBit) {
  Generator gen(32);
  Tensor p = random_tensor({7}, gen).set_requires_grad(true);
  const auto p0 = p.to_vector();
  Adam opt({p}, {2e-3, 0.85, 0.99, 1e-6, 0.05});
  std::vector<std::vector<double>> grads(7);
  for (int t = 0; t < 3; ++t) {
    std::vector<double> g = random_tensor({7}, gen).to_vector();
    for (size_t i = 0; i < 7; ++i) grads[i].push_back(g[i]);
    set_grad(p, g);
    opt.step();
  }
  const auto got = p.to_vector();
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(got[i], torch_adam(p0[i], grads[i], 2e-3, 0.85, 0.99, 1e-6, 0.05));
}

TEST(Optimizer, SetLrAndSkippedParametersAndZeroGrad) {
  Tensor a = param_of({1.0, 2.0}), b = param_of({3.0});
  SGD opt({a, b}, {0.1, 0.0, 0.0, false});
  opt.set_lr(0.5);
  EXPECT_EQ(opt.lr(), 0.5);
  set_grad(a, {1.0, -1.0});
  opt.step();  // b has no gradient: untouched
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0.5, 2.5}));
  EXPECT_EQ(b.item(), 3.0);
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

// A training step's gradients keep their buffers: dropped as zero_grad()
// drops them (a parameter without a gradient is skipped), then written in
// place by the next backward pass (a CUDA graph replays them there).
TEST(Optimizer, ZeroGradKeepingBuffersReusesThem) {
  Tensor a = param_of({1.0, 2.0}), b = param_of({3.0});
  SGD opt({a, b}, {0.5, 0.0, 0.0, false});
  set_grad(a, {1.0, -1.0});
  set_grad(b, {1.0});
  const void* buffer = a.grad().raw_data();
  opt.zero_grad_keeping_buffers();
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
  ops::sum(ops::mul(a, a)).backward();  // d/da sum(a^2) = 2a; b gets none
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().raw_data(), buffer);
  EXPECT_EQ(a.grad().to_vector(), (std::vector<double>{2.0, 4.0}));
  EXPECT_FALSE(b.grad().defined());
  opt.step();
  EXPECT_EQ(a.to_vector(), (std::vector<double>{0.0, 0.0}));
  EXPECT_EQ(b.item(), 3.0) << "a parameter without a gradient is skipped";
}

TEST(Optimizer, GradientOfAnotherDtypeIsRefused) {
  Tensor a = param_of({1.0, 2.0});
  Adam opt({a}, {});
  a.set_grad(Tensor::zeros({2}, DType::F32));
  EXPECT_THROW(opt.step(), Error);
  EXPECT_EQ(a.to_vector(), (std::vector<double>{1.0, 2.0}));
}

// Runs `steps` steps of opt with gradients from gen.
template <typename Opt>
void run_steps(Opt& opt, std::vector<Tensor>& params, Generator& gen, int steps) {
  for (int t = 0; t < steps; ++t) {
    for (auto& p : params) p.set_grad(random_tensor(p.shape(), gen));
    opt.step();
  }
}

std::map<std::string, Tensor> deep_copy(const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> out;
  for (const auto& [k, v] : state) out[k] = v.clone();
  return out;
}

template <typename Opt, typename Options>
void check_round_trip(const Options& options) {
  Generator init(33);
  std::vector<Tensor> pa{random_tensor({2, 3}, init), random_tensor({4}, init)};
  std::vector<Tensor> pb{pa[0].clone(), pa[1].clone()};
  Opt a(pa, options);
  Generator grads_a(34);
  run_steps(a, pa, grads_a, 2);
  // Resume: copy parameters and optimizer state into a fresh optimizer.
  for (size_t i = 0; i < pa.size(); ++i) pb[i].copy_(pa[i]);
  Opt b(pb, options);
  b.load_state(deep_copy(a.state()));
  Generator grads_b = grads_a;
  run_steps(a, pa, grads_a, 2);
  run_steps(b, pb, grads_b, 2);
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_EQ(pa[i].to_vector(), pb[i].to_vector()) << "parameter " << i;
  for (const auto& [k, v] : a.state()) EXPECT_EQ(v.to_vector(), b.state().at(k).to_vector()) << k;
}

TEST(Optimizer, StateRoundTripContinuesIdentically) {
  check_round_trip<SGD>(SGDOptions{0.1, 0.9, 1e-3, true});
  check_round_trip<Adam>(AdamOptions{1e-2, 0.9, 0.999, 1e-8, 1e-4});
}

TEST(Optimizer, StateNamesAndLoadErrors) {
  Tensor a = param_of({1.0, 2.0}), b = param_of({3.0});
  Adam opt({a, b}, {});
  set_grad(a, {0.1, 0.2});
  set_grad(b, {0.3});
  opt.step();
  auto state = opt.state();
  std::vector<std::string> names;
  for (const auto& kv : state) names.push_back(kv.first);
  EXPECT_EQ(names, (std::vector<std::string>{"exp_avg.0", "exp_avg.1", "exp_avg_sq.0", "exp_avg_sq.1", "step"}));

  auto expect_error = [&](std::map<std::string, Tensor> s, const std::string& needle) {
    try {
      opt.load_state(s);
      ADD_FAILURE() << "expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto s = state;
  s.erase("step");
  expect_error(s, "missing entry 'step'");
  s = state;
  s["exp_avg.1"] = Tensor::zeros({2}, DType::F64);
  expect_error(s, "'exp_avg.1' has shape [2] but parameter 1 has shape [1]");
  s = state;
  s["momentum_buffer.0"] = Tensor::zeros({2}, DType::F64);
  expect_error(s, "unknown entry 'momentum_buffer.0'");
  s = state;
  s["exp_avg.2"] = Tensor::zeros({1}, DType::F64);
  expect_error(s, "refers to parameter 2");
  s = state;
  s.erase("exp_avg_sq.0");
  expect_error(s, "has 'exp_avg.0' but not 'exp_avg_sq.0'");
  // A failed load leaves the optimizer as it was.
  EXPECT_EQ(opt.steps(), 1);

  SGD sgd({a}, {0.1, 0.9, 0.0, false});
  std::map<std::string, Tensor> bad{{"step", Tensor::scalar(1, DType::F64)},
                                    {"momentum_buffer.0", Tensor::zeros({3}, DType::F64)}};
  EXPECT_THROW(sgd.load_state(bad), Error);
}

}  // namespace
}  // namespace posenet
