#include "tinymamba/model/model.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "tinymamba/core/quantize.hpp"
#include "tinymamba/core/vmath.hpp"

namespace tinymamba {

bool is_large_matrix(const ParamInfo& p) {
  return p.shape.size() == 2 && (p.name == "backbone.embedding.weight" || p.name == "lm_head.weight" ||
                                 p.name.ends_with("_proj.weight"));
}

namespace {
std::int64_t rounded(std::int64_t numel) { return (numel + 15) / 16 * 16; }  // as parameter_layout: cache lines
}  // namespace

Model::Model(const Config& c)
    : config(c), layout(parameter_layout(c)), params(static_cast<std::size_t>(parameter_buffer_size(layout)), 0.0f),
      bound_(bind_weights(config, static_cast<const float*>(params.data()))) {
  rebind();
}

Model::Model(const Config& c, std::vector<InPlaceMatrix> in_place, WeightType type, FillF32 fill_f32)
    : config(c), layout(parameter_layout(c)) {
  if (in_place.empty()) {  // nothing in place: an owned model (store_typed keeps its float32 tensors in params)
    Buffer<float>(static_cast<std::size_t>(parameter_buffer_size(layout)), 0.0f).swap(params);
    for (const ParamInfo& p : layout) fill_f32(p, params.data() + p.offset);
    rebind();
    return;
  }
  std::vector<TypedMatrix> typed;
  for (auto& m : in_place) {
    const ParamInfo* p = find(m.name);
    TM_CHECK(p && is_large_matrix(*p) && m.view.rows == p->shape[0] && m.view.cols == p->shape[1], m.name,
             ": not a large matrix of this model's shape");
    typed.push_back({m.name, m.view, {}, std::move(m.keep_alive)});
  }
  store_typed(std::move(typed), type);
  for (std::size_t i = 0; i < layout.size(); ++i)
    if (small_offset_[i] >= 0) fill_f32(layout[i], small_.data() + small_offset_[i]);
  rebind();  // decay_rates_ from the A_log just written
}

Model::Model(const Model& other)
    : config(other.config), layout(other.layout), params(other.params), weight_type_(other.weight_type_),
      typed_(other.typed_), small_(other.small_), small_offset_(other.small_offset_) {
  rebind();
}

Model& Model::operator=(const Model& other) {
  if (this != &other) *this = Model(other);
  return *this;
}

Weights Model::weights() {
  make_owned();
  return bind_weights(config, params.data());
}

void Model::make_owned() {
  if (typed_.empty()) return;
  TM_CHECK(weight_type_ == WeightType::f32 &&
               std::all_of(typed_.begin(), typed_.end(), [](const TypedMatrix& m) { return m.view.type == WeightType::f32; }),
           "the model's weights are stored as ", weight_type_name(weight_type_),
           ": initializing, loading, training and exporting parameters need a float32 model (load it without --dtype)");
  Buffer<float> owned(static_cast<std::size_t>(parameter_buffer_size(layout)), 0.0f);
  for (std::size_t i = 0; i < layout.size(); ++i)
    if (const float* v = f32_values(i)) std::copy_n(v, layout[i].numel, owned.data() + layout[i].offset);
  params = std::move(owned);
  typed_.clear();  // releases the mapped files
  Buffer<float>().swap(small_);
  small_offset_.clear();
  rebind();
}

const float* Model::f32_tensor(const std::string& name) const {
  const ParamInfo* p = find(name);
  TM_CHECK(p, name, ": not a parameter of this model");
  if (typed_.empty()) return params.data() + p->offset;
  const std::int64_t at = small_offset_[static_cast<std::size_t>(p - layout.data())];
  TM_CHECK(at >= 0, name, " is stored as ", weight_type_name(weight_type_), " or used in place, not as float32 values");
  return small_.data() + at;
}

const float* Model::f32_values(std::size_t i) const {
  if (typed_.empty()) return params.empty() ? nullptr : params.data() + layout[i].offset;
  if (small_offset_[i] >= 0) return small_.data() + small_offset_[i];
  for (const auto& m : typed_)
    if (m.name == layout[i].name && m.view.type == WeightType::f32) return static_cast<const float*>(m.view.data);
  return nullptr;
}

const ParamInfo* Model::find(const std::string& name) const {
  for (const auto& p : layout)
    if (p.name == name) return &p;
  return nullptr;
}

void Model::set_weight_type(WeightType t) {
  if (t == WeightType::f32 || t == weight_type_) return;
  TM_CHECK(weight_type_ == WeightType::f32, "the model's weights are already stored as ", weight_type_name(weight_type_),
           "; a conversion starts from float32");
  TM_CHECK(weight_type_has_quantizer(t), weight_type_name(t), " weights are read from files, not made here "
           "(types to convert to: f32, f16, bf16, q8_0, q4_0)");
  std::vector<TypedMatrix> typed;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const ParamInfo& p = layout[i];
    if (!is_large_matrix(p)) continue;
    const std::int64_t rows = p.shape[0], cols = p.shape[1];
    const WeightType type = cols % weight_type_block(t) == 0 ? t : WeightType::f16;
    Buffer<std::byte> bytes = quantize_matrix(type, f32_values(i), rows, cols, p.name);
    typed.push_back({p.name, WeightMatrix::dense(type, bytes.data(), rows, cols), std::move(bytes), nullptr});
  }
  store_typed(std::move(typed), t);
  rebind();
}

void Model::store_typed(std::vector<TypedMatrix> typed, WeightType t) {
  const auto is_typed = [&](const ParamInfo& p) {
    return std::any_of(typed.begin(), typed.end(), [&](const TypedMatrix& m) { return m.name == p.name; });
  };
  std::int64_t small_size = 0;
  for (const auto& p : layout) small_size += is_typed(p) ? 0 : rounded(p.numel);
  Buffer<float> small(static_cast<std::size_t>(small_size), 0.0f);
  std::vector<std::int64_t> small_offset;
  small_size = 0;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const ParamInfo& p = layout[i];
    if (is_typed(p)) {
      small_offset.push_back(-1);
      continue;
    }
    if (const float* v = f32_values(i)) std::copy_n(v, p.numel, small.data() + small_size);  // stays float32, packed
    small_offset.push_back(small_size);
    small_size += rounded(p.numel);
  }
  typed_ = std::move(typed);
  small_ = std::move(small);
  small_offset_ = std::move(small_offset);
  Buffer<float>().swap(params);  // frees the float32 copy: memory drops to the typed bytes + the small tensors
  weight_type_ = t;
}

void Model::rebind() {
  weight_bytes_ = 0;
  for (const auto& s : storage()) weight_bytes_ += s.bytes;
  if (typed_.empty()) {
    bound_ = bind_weights(config, static_cast<const float*>(params.data()));
    Buffer<float>().swap(decay_rates_);
    return;
  }
  // The binder places float pointers; a typed matrix's place is marked by its data's address, and each view
  // bound there is replaced by the typed view below.
  std::unordered_map<std::string, const float*> at;
  for (std::size_t i = 0; i < layout.size(); ++i)
    if (small_offset_[i] >= 0) at[layout[i].name] = small_.data() + small_offset_[i];
  for (auto& m : typed_) {
    if (!m.bytes.empty()) m.view.data = m.bytes.data();
    at[m.name] = static_cast<const float*>(m.view.data);
  }
  bound_ = bind_weights(config, [&](const std::string& name) -> const float* {
    auto it = at.find(name);
    return it == at.end() ? nullptr : it->second;
  });
  const auto typed_view = [&](WeightMatrix& v) {
    for (const auto& m : typed_)
      if (v.data == m.view.data) v = m.view;
  };
  if (config.mixer == MixerKind::mamba1) {
    const std::int64_t EN = config.d_inner * config.d_state;
    if (decay_rates_.size() != static_cast<std::size_t>(config.n_layer * EN))
      Buffer<float>(static_cast<std::size_t>(config.n_layer * EN)).swap(decay_rates_);
    for (std::int64_t i = 0; i < config.n_layer; ++i) {
      mamba1::MixerWeightsT<const float>& l = bound_.mamba1[static_cast<std::size_t>(i)];
      float* A = decay_rates_.data() + i * EN;
      for (std::int64_t j = 0; j < EN; ++j) A[j] = -vmath::exp(l.A_log[j]);  // as the step computes it otherwise
      l.A = A;
    }
  }
  typed_view(bound_.embedding);
  typed_view(bound_.lm_head);
  for (auto& l : bound_.mamba1)
    for (WeightMatrix* w : {&l.in_proj, &l.x_proj, &l.dt_proj, &l.out_proj}) typed_view(*w);
  for (auto& l : bound_.mamba2)
    for (WeightMatrix* w : {&l.in_proj, &l.out_proj}) typed_view(*w);
}

std::vector<Model::TensorStorage> Model::storage() const {
  std::vector<TensorStorage> out;
  for (std::size_t i = 0; i < layout.size(); ++i) {
    const ParamInfo& p = layout[i];
    const auto it = std::find_if(typed_.begin(), typed_.end(), [&](const TypedMatrix& m) { return m.name == p.name; });
    if (it != typed_.end())
      out.push_back({p.name, it->view.type, it->view.bytes(), it->view.data});
    else
      out.push_back({p.name, WeightType::f32, p.numel * static_cast<std::int64_t>(sizeof(float)),
                     typed_.empty() ? params.data() + p.offset : small_.data() + small_offset_[i]});
  }
  return out;
}


}  // namespace tinymamba
