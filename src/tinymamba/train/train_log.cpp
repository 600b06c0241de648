#include "tinymamba/train/train_log.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "tinymamba/core/error.hpp"

namespace tinymamba::train {
namespace {

std::string num(double v, const char* fmt = "%.6g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// "Nice" tick spacing (1, 2 or 5 times a power of ten) giving about `count` ticks over [lo, hi].
double tick_step(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  if (!(raw > 0)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

}  // namespace

std::string log_csv(const std::vector<LogRow>& rows) {
  std::string out = "step,loss,val_loss,lr,grad_norm,tok_s\n";
  for (const auto& r : rows) {
    out += std::to_string(r.step) + "," + num(r.loss, "%.7g") + "," + (r.val_loss >= 0 ? num(r.val_loss, "%.7g") : "") +
           "," + num(r.lr, "%.7g") + "," + num(r.grad_norm, "%.7g") + "," + num(r.tok_s, "%.1f") + "\n";
  }
  return out;
}

std::vector<LogRow> parse_log_csv(const std::string& text, const std::string& source) {
  std::vector<LogRow> rows;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line_no == 1 || line.empty()) continue;  // header
    std::vector<std::string> f;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= line.size(); ++i)
      if (i == line.size() || line[i] == ',') {
        f.push_back(line.substr(start, i - start));
        start = i + 1;
      }
    TM_CHECK(f.size() == 6, source, ":", line_no, ": expected 6 columns, got ", f.size());
    auto number = [&](const std::string& s) {
      char* end = nullptr;
      const double v = std::strtod(s.c_str(), &end);
      TM_CHECK(!s.empty() && end == s.c_str() + s.size(), source, ":", line_no, ": '", s, "' is not a number");
      return v;
    };
    LogRow r;
    r.step = static_cast<std::int64_t>(number(f[0]));
    r.loss = number(f[1]);
    r.val_loss = f[2].empty() ? -1 : number(f[2]);
    r.lr = number(f[3]);
    r.grad_norm = number(f[4]);
    r.tok_s = number(f[5]);
    rows.push_back(r);
  }
  return rows;
}

std::string loss_curve_svg(const std::vector<LogRow>& rows, const std::string& title) {
  const double W = 720, H = 420, left = 64, right = 20, top = 40, bottom = 48;
  const double pw = W - left - right, ph = H - top - bottom;
  double x_max = 1, y_lo = INFINITY, y_hi = -INFINITY;
  // Moving average of the training loss over a window of ~2% of the run (at least 1 step).
  const std::size_t win = std::max<std::size_t>(1, rows.size() / 50);
  std::vector<double> avg(rows.size());
  double acc = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    acc += rows[i].loss;
    if (i >= win) acc -= rows[i - win].loss;
    avg[i] = acc / static_cast<double>(std::min(i + 1, win));
  }
  // The y range covers the run after its first 3% (the steep start would squash everything else to the bottom;
  // earlier points are drawn clipped at the top) and every validation point.
  const std::size_t skip = rows.size() >= 30 ? rows.size() * 3 / 100 : 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    if (!std::isfinite(r.loss)) continue;
    x_max = std::max(x_max, static_cast<double>(r.step));
    if (i >= skip) {
      y_lo = std::min(y_lo, r.loss);
      y_hi = std::max(y_hi, r.loss);
    }
    if (r.val_loss >= 0) {
      y_lo = std::min(y_lo, r.val_loss);
      y_hi = std::max(y_hi, r.val_loss);
    }
  }
  if (!std::isfinite(y_lo)) y_lo = 0, y_hi = 1;
  if (y_hi - y_lo < 1e-6) y_hi = y_lo + 1;
  const double ys = tick_step(y_lo, y_hi, 6);
  y_lo = std::floor(y_lo / ys) * ys;
  y_hi = std::ceil(y_hi / ys) * ys;
  const double xs = tick_step(0, x_max, 8);
  x_max = std::ceil(x_max / xs) * xs;
  auto X = [&](double step) { return left + pw * step / x_max; };
  auto Y = [&](double loss) { return top + ph * (1 - (std::min(loss, y_hi) - y_lo) / (y_hi - y_lo)); };

  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H << "\" viewBox=\"0 0 " << W
    << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << W / 2 << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">" << xml_escape(title) << "</text>\n";
  for (double y = y_lo; y <= y_hi + ys / 2; y += ys) {
    s << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << num(Y(y)) << "\" y2=\"" << num(Y(y))
      << "\" stroke=\"#e4e4e4\"/>\n";
    s << "<text x=\"" << left - 6 << "\" y=\"" << num(Y(y) + 4) << "\" text-anchor=\"end\">" << num(y, "%.3g") << "</text>\n";
  }
  for (double x = 0; x <= x_max + xs / 2; x += xs) {
    s << "<line x1=\"" << num(X(x)) << "\" x2=\"" << num(X(x)) << "\" y1=\"" << top << "\" y2=\"" << top + ph
      << "\" stroke=\"#f0f0f0\"/>\n";
    s << "<text x=\"" << num(X(x)) << "\" y=\"" << top + ph + 16 << "\" text-anchor=\"middle\">" << num(x, "%.0f")
      << "</text>\n";
  }
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
    << "\" fill=\"none\" stroke=\"#444\"/>\n";
  s << "<text x=\"" << left + pw / 2 << "\" y=\"" << H - 10 << "\" text-anchor=\"middle\">step</text>\n";
  s << "<text transform=\"translate(16 " << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\">loss (nats/token)</text>\n";
  auto polyline = [&](auto value, const char* style) {
    s << "<polyline fill=\"none\" " << style << " points=\"";
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const double v = value(i);
      if (v >= 0 && std::isfinite(v)) s << num(X(static_cast<double>(rows[i].step)), "%.1f") << "," << num(Y(v), "%.1f") << " ";
    }
    s << "\"/>\n";
  };
  polyline([&](std::size_t i) { return rows[i].loss; }, "stroke=\"#9ecae1\" stroke-width=\"1\"");
  polyline([&](std::size_t i) { return avg[i]; }, "stroke=\"#1f77b4\" stroke-width=\"2\"");
  polyline([&](std::size_t i) { return rows[i].val_loss; }, "stroke=\"#d62728\" stroke-width=\"2\"");
  for (const auto& r : rows)
    if (r.val_loss >= 0)
      s << "<circle cx=\"" << num(X(static_cast<double>(r.step)), "%.1f") << "\" cy=\"" << num(Y(r.val_loss), "%.1f")
        << "\" r=\"3\" fill=\"#d62728\"/>\n";
  const double lx = left + pw - 190, ly = top + 14;
  s << "<rect x=\"" << lx - 8 << "\" y=\"" << ly - 12 << "\" width=\"190\" height=\"58\" fill=\"white\" stroke=\"#ccc\"/>\n";
  const char* names[] = {"train loss (per step)", "train loss (moving avg)", "validation loss"};
  const char* colors[] = {"#9ecae1", "#1f77b4", "#d62728"};
  for (int k = 0; k < 3; ++k) {
    s << "<line x1=\"" << lx << "\" x2=\"" << lx + 24 << "\" y1=\"" << ly + 18 * k - 4 << "\" y2=\"" << ly + 18 * k - 4
      << "\" stroke=\"" << colors[k] << "\" stroke-width=\"2\"/>\n";
    s << "<text x=\"" << lx + 30 << "\" y=\"" << ly + 18 * k << "\">" << names[k] << "</text>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace tinymamba::train
