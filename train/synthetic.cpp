#include "train/synthetic.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/rng.h"
#include "eval/mat_io.h"
#include "train/ground_truth.h"

namespace posenet::train {

namespace {

struct Rgb {
  float r, g, b;
};

// A float RGB canvas with alpha blending.
struct Canvas {
  int w, h;
  std::vector<float> px;  // RGB, 0..255
  Canvas(int w_, int h_) : w(w_), h(h_), px(size_t(w_) * size_t(h_) * 3, 0.0f) {}
  void blend(int x, int y, Rgb c, float a) {
    if (a <= 0) return;
    float* p = px.data() + (size_t(y) * size_t(w) + size_t(x)) * 3;
    p[0] += a * (c.r - p[0]);
    p[1] += a * (c.g - p[1]);
    p[2] += a * (c.b - p[2]);
  }
};

// A segment from a (radius ra) to b (radius rb), anti-aliased.
void draw_capsule(Canvas& cv, Point2 a, Point2 b, double ra, double rb, Rgb c, float alpha = 1.0f) {
  const double rmax = std::max(ra, rb) + 1;
  const int x0 = std::max(0, int(std::floor(std::min(a.x, b.x) - rmax)));
  const int x1 = std::min(cv.w - 1, int(std::ceil(std::max(a.x, b.x) + rmax)));
  const int y0 = std::max(0, int(std::floor(std::min(a.y, b.y) - rmax)));
  const int y1 = std::min(cv.h - 1, int(std::ceil(std::max(a.y, b.y) + rmax)));
  const double dx = b.x - a.x, dy = b.y - a.y, len2 = dx * dx + dy * dy;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      double t = len2 > 0 ? ((x - a.x) * dx + (y - a.y) * dy) / len2 : 0.0;
      t = std::clamp(t, 0.0, 1.0);
      const double qx = a.x + t * dx - x, qy = a.y + t * dy - y;
      const double d = std::sqrt(qx * qx + qy * qy);
      const double r = ra + (rb - ra) * t;
      cv.blend(x, y, c, alpha * float(std::clamp(r - d + 0.5, 0.0, 1.0)));
    }
}

// An ellipse with semi-axes (ax along angle, by across), anti-aliased.
void draw_ellipse(Canvas& cv, Point2 c, double ax, double by, double angle, Rgb col, float alpha = 1.0f) {
  const double r = std::max(ax, by) + 1;
  const double cs = std::cos(angle), sn = std::sin(angle);
  for (int y = std::max(0, int(c.y - r)); y <= std::min(cv.h - 1, int(c.y + r + 1)); ++y)
    for (int x = std::max(0, int(c.x - r)); x <= std::min(cv.w - 1, int(c.x + r + 1)); ++x) {
      const double u = (x - c.x) * cs + (y - c.y) * sn, v = -(x - c.x) * sn + (y - c.y) * cs;
      const double f = std::sqrt((u / ax) * (u / ax) + (v / by) * (v / by));
      const double dist = (f - 1.0) * std::min(ax, by);
      cv.blend(x, y, col, alpha * float(std::clamp(0.5 - dist, 0.0, 1.0)));
    }
}

void draw_rect(Canvas& cv, Point2 c, double hw, double hh, double angle, Rgb col, float alpha) {
  const double r = std::hypot(hw, hh) + 1;
  const double cs = std::cos(angle), sn = std::sin(angle);
  for (int y = std::max(0, int(c.y - r)); y <= std::min(cv.h - 1, int(c.y + r + 1)); ++y)
    for (int x = std::max(0, int(c.x - r)); x <= std::min(cv.w - 1, int(c.x + r + 1)); ++x) {
      const double u = (x - c.x) * cs + (y - c.y) * sn, v = -(x - c.x) * sn + (y - c.y) * cs;
      const double d = std::max(std::abs(u) - hw, std::abs(v) - hh);
      cv.blend(x, y, col, alpha * float(std::clamp(0.5 - d, 0.0, 1.0)));
    }
}

Rgb jitter(Generator& g, Rgb c, float amount) {
  auto j = [&](float v) { return std::clamp(v + float(g.uniform(-amount, amount)), 0.0f, 255.0f); };
  return {j(c.r), j(c.g), j(c.b)};
}

// A muted (low-saturation) colour for background and clutter.
Rgb muted(Generator& g) {
  const float base = float(g.uniform(40, 215));
  const float spread = float(g.uniform(0, 35));
  return {base + float(g.uniform(-spread, spread)), base + float(g.uniform(-spread, spread)),
          base + float(g.uniform(-spread, spread))};
}

Point2 add(Point2 a, Point2 d, double len) { return {a.x + d.x * len, a.y + d.y * len}; }
Point2 rot(Point2 d, double deg) {
  const double r = deg * M_PI / 180.0, c = std::cos(r), s = std::sin(r);
  return {d.x * c - d.y * s, d.x * s + d.y * c};
}
double deg(Generator& g, double lo, double hi) { return g.uniform(lo, hi); }

// Segment colours: right side warm, left side cool; upper and lower parts
// of a limb differ so that the joint between them is a colour edge.
const Rgb kRUpperArm{235, 40, 40}, kRForearm{255, 150, 20};
const Rgb kLUpperArm{30, 200, 60}, kLForearm{30, 220, 230};
const Rgb kRThigh{200, 30, 160}, kRShin{250, 110, 190};
const Rgb kLThigh{40, 70, 230}, kLShin{140, 110, 255};
const Rgb kTorso{245, 245, 235}, kSkin{225, 180, 140};

}  // namespace

SyntheticFigure render_synthetic_figure(uint64_t seed, uint64_t index, int size) {
  PN_CHECK(size >= 32 && size <= 4096, "synthetic image size must be in [32, 4096], got ", size);
  Generator g = Generator(seed).fork(index);
  const double S = size;

  // Skeleton in units of the figure height, pelvis at the origin, y down.
  const double torso_deg = std::clamp(g.normal(0, 10), -25.0, 25.0);
  const Point2 up = rot({0, -1}, torso_deg);
  const Point2 right = rot(up, -90);  // the body's right: image left for a figure facing the viewer
  auto len = [&](double l) { return l * g.uniform(0.9, 1.1); };
  Joints j{};
  j[kPelvis] = {0, 0};
  j[kThorax] = add(j[kPelvis], up, len(0.30));
  const Point2 neck_dir = rot(up, std::clamp(g.normal(0, 8), -20.0, 20.0));
  j[kUpperNeck] = add(j[kThorax], neck_dir, len(0.06));
  const Point2 head_dir = rot(neck_dir, std::clamp(g.normal(0, 10), -25.0, 25.0));
  j[kHeadTop] = add(j[kUpperNeck], head_dir, len(0.18));
  const double shoulder = len(0.10), hip = len(0.07);
  j[kRShoulder] = add(j[kThorax], right, shoulder);
  j[kLShoulder] = add(j[kThorax], right, -shoulder);
  j[kRHip] = add(j[kPelvis], right, hip);
  j[kLHip] = add(j[kPelvis], right, -hip);
  const Point2 down{-up.x, -up.y};
  // A limb: the first segment leaves the body at `spread` degrees from
  // straight down, towards the limb's own side; the second bends by `bend`.
  auto limb = [&](int root, int mid, int end, double side, double spread_lo, double spread_hi, double bend_max,
                  double l1, double l2) {
    const double spread = deg(g, spread_lo, spread_hi);
    // Positive spread rotates "down" towards the limb's side.
    const Point2 d1 = rot(down, side * -spread);
    j[size_t(mid)] = add(j[size_t(root)], d1, len(l1));
    const double bend = deg(g, 0, bend_max) * (g.uniform() < 0.5 ? -1 : 1);
    j[size_t(end)] = add(j[size_t(mid)], rot(d1, bend), len(l2));
  };
  // side: +1 for the right (towards `right`), -1 for the left. Rotating
  // `down` by -90 degrees gives `right` in image coordinates.
  limb(kRShoulder, kRElbow, kRWrist, +1, -20, 160, 140, 0.16, 0.15);
  limb(kLShoulder, kLElbow, kLWrist, -1, -20, 160, 140, 0.16, 0.15);
  limb(kRHip, kRKnee, kRAnkle, +1, -10, 55, 100, 0.23, 0.23);
  limb(kLHip, kLKnee, kLAnkle, -1, -10, 55, 100, 0.23, 0.23);

  // Place: random height, whole-figure rotation and position, kept inside.
  const double rotation = g.uniform(-30, 30);
  double height = S * g.uniform(0.5, 0.85);
  Joints p{};
  double minx = 0, maxx = 0, miny = 0, maxy = 0;
  for (int attempt = 0; attempt < 8; ++attempt) {
    for (int k = 0; k < kNumJoints; ++k) {
      Point2 q = rot(j[size_t(k)], rotation);
      p[size_t(k)] = {q.x * height, q.y * height};
    }
    minx = maxx = p[0].x;
    miny = maxy = p[0].y;
    for (const Point2& q : p) {
      minx = std::min(minx, q.x), maxx = std::max(maxx, q.x);
      miny = std::min(miny, q.y), maxy = std::max(maxy, q.y);
    }
    const double margin = 0.07 * height + 2;  // limb thickness and the head's width
    minx -= margin, maxx += margin, miny -= margin, maxy += margin;
    if (maxx - minx <= S && maxy - miny <= S) break;
    height *= 0.85 * S / std::max(maxx - minx, maxy - miny);
  }
  const double ox = g.uniform(-minx, std::max(-minx, S - maxx));
  const double oy = g.uniform(-miny, std::max(-miny, S - maxy));
  for (Point2& q : p) q = {q.x + ox, q.y + oy};
  minx += ox, maxx += ox, miny += oy, maxy += oy;

  // Background: a gradient between two muted colours, then clutter.
  Canvas cv(size, size);
  {
    const Rgb a = muted(g), b = muted(g);
    const double ang = g.uniform(0, 2 * M_PI), ca = std::cos(ang), sa = std::sin(ang);
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const float t = float(std::clamp(0.5 + ((x - S / 2) * ca + (y - S / 2) * sa) / S, 0.0, 1.0));
        float* q = cv.px.data() + (size_t(y) * size_t(size) + size_t(x)) * 3;
        q[0] = a.r + t * (b.r - a.r), q[1] = a.g + t * (b.g - a.g), q[2] = a.b + t * (b.b - a.b);
      }
    const int shapes = int(g.randint(3, 9));
    for (int s = 0; s < shapes; ++s) {
      const Rgb c = muted(g);
      const float alpha = float(g.uniform(0.4, 0.9));
      const Point2 at{g.uniform(0, S), g.uniform(0, S)};
      switch (g.randint(0, 3)) {
        case 0: draw_ellipse(cv, at, g.uniform(0.03, 0.15) * S, g.uniform(0.03, 0.15) * S, g.uniform(0, M_PI), c, alpha); break;
        case 1: draw_rect(cv, at, g.uniform(0.03, 0.2) * S, g.uniform(0.03, 0.2) * S, g.uniform(0, M_PI), c, alpha); break;
        default: {
          const Point2 to{g.uniform(0, S), g.uniform(0, S)};
          const double r = g.uniform(0.01, 0.03) * S;
          draw_capsule(cv, at, to, r, r, c, alpha);
        }
      }
    }
  }

  // The figure: legs, torso, arms, head (back to front).
  const double H = height;
  auto seg = [&](int a, int b, double ra, double rb, Rgb c) { draw_capsule(cv, p[size_t(a)], p[size_t(b)], ra * H, rb * H, jitter(g, c, 20)); };
  seg(kRHip, kRKnee, 0.050, 0.040, kRThigh);
  seg(kRKnee, kRAnkle, 0.038, 0.028, kRShin);
  seg(kLHip, kLKnee, 0.050, 0.040, kLThigh);
  seg(kLKnee, kLAnkle, 0.038, 0.028, kLShin);
  const Rgb torso = jitter(g, kTorso, 15);
  draw_capsule(cv, p[kPelvis], p[kThorax], 0.085 * H, 0.095 * H, torso);
  draw_capsule(cv, p[kRShoulder], p[kLShoulder], 0.04 * H, 0.04 * H, torso);
  draw_capsule(cv, p[kRHip], p[kLHip], 0.045 * H, 0.045 * H, torso);
  const Rgb skin = jitter(g, kSkin, 15);
  draw_capsule(cv, p[kThorax], p[kUpperNeck], 0.03 * H, 0.025 * H, skin);
  seg(kRShoulder, kRElbow, 0.035, 0.030, kRUpperArm);
  seg(kRElbow, kRWrist, 0.030, 0.022, kRForearm);
  seg(kLShoulder, kLElbow, 0.035, 0.030, kLUpperArm);
  seg(kLElbow, kLWrist, 0.030, 0.022, kLForearm);
  // Head: an ellipse from the upper neck to the head top, with two eyes.
  const Point2 n = p[kUpperNeck], t = p[kHeadTop];
  const double head_len = std::hypot(t.x - n.x, t.y - n.y);
  const double head_angle = std::atan2(t.y - n.y, t.x - n.x);
  const Point2 hc{(n.x + t.x) / 2, (n.y + t.y) / 2};
  const double ha = head_len / 2, hb = 0.4 * head_len;
  draw_ellipse(cv, hc, ha, hb, head_angle, skin);
  {
    const Point2 along{std::cos(head_angle), std::sin(head_angle)}, across = rot(along, 90);
    const Point2 eye_line = add(hc, along, 0.15 * head_len);
    const Rgb eye{30, 30, 40};
    for (double s : {-1.0, 1.0})
      draw_ellipse(cv, add(eye_line, across, s * 0.17 * head_len), 0.07 * head_len + 0.3, 0.07 * head_len + 0.3, 0, eye);
  }
  // The head box: the axis-aligned box of the head ellipse.
  const double ex = std::hypot(ha * std::cos(head_angle), hb * std::sin(head_angle));
  const double ey = std::hypot(ha * std::sin(head_angle), hb * std::cos(head_angle));

  SyntheticFigure fig;
  fig.joints = p;
  fig.headbox = {hc.x - ex, hc.y - ey, hc.x + ex, hc.y + ey};
  fig.box_center = {(minx + maxx) / 2, (miny + maxy) / 2};
  fig.box_size = std::max(maxx - minx, maxy - miny);

  // Pixel noise.
  const double noise = g.uniform(2, 8);
  fig.image = Image(size, size);
  // Triangular noise (sum of two 16-bit uniforms, unit variance): much
  // cheaper than a normal draw per value and just as good for augmentation.
  const float amp = float(noise * std::sqrt(6.0) / 65536.0);
  for (size_t i = 0; i < cv.px.size(); ++i) {
    const uint32_t u = g.next_u32();
    const float tri = float(int32_t(u & 0xFFFFu) + int32_t(u >> 16) - 65535) * amp;
    fig.image.pixels[i] = uint8_t(std::clamp(std::lround(cv.px[i] + tri), 0L, 255L));
  }
  return fig;
}

SyntheticSummary write_synthetic_dataset(const std::filesystem::path& out, const SyntheticConfig& config) {
  PN_CHECK(config.count > 0, "synthetic: --count must be positive, got ", config.count);
  const int val = config.val_count < 0 ? std::max(1, config.count / 10) : config.val_count;
  PN_CHECK(val <= config.count, "synthetic: --split-val ", val, " exceeds --count ", config.count);
  PN_CHECK(config.jpeg_quality >= 1 && config.jpeg_quality <= 100, "synthetic: JPEG quality must be in [1, 100]");
  std::error_code ec;
  std::filesystem::create_directories(out / "images", ec);
  PN_CHECK(!ec, (out / "images").string(), ": cannot create directory: ", ec.message());
  std::filesystem::create_directories(out / "annot", ec);
  PN_CHECK(!ec, (out / "annot").string(), ": cannot create directory: ", ec.message());

  const int n = config.count, n_train = n - val;
  std::vector<nlohmann::json> records(static_cast<size_t>(n));
  std::vector<Sample> val_samples(static_cast<size_t>(val));  // for the PCKh ground truth
  std::vector<std::string> errors(static_cast<size_t>(n));
#pragma omp parallel for schedule(dynamic, 16)
  for (int i = 0; i < n; ++i) {
    try {
      const bool is_val = i >= n_train;
      const int k = is_val ? i - n_train : i;
      char name[64];
      std::snprintf(name, sizeof(name), "%s_%06d.jpg", is_val ? "valid" : "train", k);
      SyntheticFigure fig = render_synthetic_figure(config.seed, uint64_t(i), config.size);
      write_jpeg(out / "images" / name, fig.image, config.jpeg_quality);
      // MPII conventions: 1-based, scale = size / 200, center raised by
      // 15 * scale (the loader adds it back and pads the scale by 1.25).
      const double scale = fig.box_size / kPixelStd;
      nlohmann::json r;
      r["image"] = name;
      r["center"] = {fig.box_center.x + 1, fig.box_center.y + 1 - 15 * scale};
      r["scale"] = scale;
      nlohmann::json joints = nlohmann::json::array(), vis = nlohmann::json::array();
      for (int jn = 0; jn < kNumJoints; ++jn) {
        joints.push_back({fig.joints[size_t(jn)].x + 1, fig.joints[size_t(jn)].y + 1});
        vis.push_back(1);
      }
      r["joints"] = std::move(joints);
      r["joints_vis"] = std::move(vis);
      records[size_t(i)] = std::move(r);
      if (is_val) {
        Sample& v = val_samples[size_t(k)];
        v.joints = fig.joints;
        v.weight.fill(1.0f);
        v.headbox = fig.headbox;
        v.source = "valid.json";
        v.source_index = k;
      }
    } catch (const std::exception& e) {
      errors[size_t(i)] = e.what();
    }
  }
  for (const auto& e : errors) PN_CHECK(e.empty(), e);

  SyntheticSummary summary;
  summary.train = n_train;
  summary.val = val;
  summary.train_json = out / "annot" / "train.json";
  summary.valid_json = out / "annot" / "valid.json";
  summary.gt_mat = out / "annot" / "gt_valid.mat";
  auto write_json = [](const std::filesystem::path& path, const nlohmann::json& j) {
    std::ofstream f(path);
    PN_CHECK(f, path.string(), ": cannot open for writing");
    f << j.dump(1) << "\n";
    PN_CHECK(f.good(), path.string(), ": write failed");
  };
  write_json(summary.train_json, nlohmann::json(std::vector<nlohmann::json>(records.begin(), records.begin() + n_train)));
  write_json(summary.valid_json, nlohmann::json(std::vector<nlohmann::json>(records.begin() + n_train, records.end())));
  eval::write_ground_truth_mat(summary.gt_mat, ground_truth_from_samples(val_samples));
  return summary;
}

}  // namespace posenet::train
