#include "tinymamba/train/settings.hpp"

#include <algorithm>
#include <cmath>

#include "tinymamba/core/error.hpp"
#include "tinymamba/core/json.hpp"

namespace tinymamba::train {

void TrainSettings::validate() const {
  TM_CHECK(steps >= 1, "--steps = ", steps, " must be at least 1");
  TM_CHECK(batch >= 1, "--batch = ", batch, " must be at least 1");
  TM_CHECK(seq_len >= 2, "--seq-len = ", seq_len, " must be at least 2");
  TM_CHECK(accum >= 1, "--accum = ", accum, " must be at least 1");
  TM_CHECK(std::isfinite(lr) && lr > 0, "--lr = ", lr, " must be a positive number");
  TM_CHECK(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= lr, "--min-lr = ", min_lr, " must be in [0, --lr]");
  TM_CHECK(schedule_steps >= 0, "--schedule-steps = ", schedule_steps, " must be >= 0 (0 = --steps)");
  TM_CHECK(warmup >= 0 && warmup <= schedule().total, "--warmup = ", warmup, " must be in [0, ", schedule().total,
           "] (the schedule's length)");
  TM_CHECK(std::isfinite(clip) && clip >= 0, "--clip = ", clip, " must be a non-negative number (0 = off)");
  TM_CHECK(eval_every >= 0, "--eval-every = ", eval_every, " must be >= 0");
  TM_CHECK(eval_tokens >= 0, "--eval-tokens = ", eval_tokens, " must be >= 0");
  TM_CHECK(save_every >= 0, "--save-every = ", save_every, " must be >= 0");
  if (const auto p = adamw.problem()) {  // under the flag's name: the field's, dashed (weight_decay: --weight-decay)
    std::string flag = "--" + p->field;
    std::replace(flag.begin(), flag.end(), '_', '-');
    fail(flag, " ", p->text);
  }
  // Sizes whose product could overflow are refused before anything is allocated.
  TM_CHECK(batch <= (1 << 20) && seq_len <= (1 << 24) && accum <= (1 << 20) && batch * seq_len <= (std::int64_t{1} << 32),
           "--batch x --seq-len = ", batch, " x ", seq_len, " is too large");
}

std::string settings_to_json(const TrainSettings& s) {
  nlohmann::json j = {{"data", s.data},
                      {"encoder", s.encoder},
                      {"steps", s.steps},
                      {"batch", s.batch},
                      {"seq_len", s.seq_len},
                      {"accum", s.accum},
                      {"lr", s.lr},
                      {"min_lr", s.min_lr},
                      {"warmup", s.warmup},
                      {"schedule_steps", s.schedule_steps},
                      {"beta1", s.adamw.beta1},
                      {"beta2", s.adamw.beta2},
                      {"eps", s.adamw.eps},
                      {"weight_decay", s.adamw.weight_decay},
                      {"no_decay", s.no_decay},
                      {"clip", s.clip},
                      {"seed", s.seed},
                      {"eval_every", s.eval_every},
                      {"eval_tokens", s.eval_tokens},
                      {"save_every", s.save_every},
                      {"scan", s.scan}};
  return j.dump();
}

TrainSettings settings_from_json(const std::string& json_text, const std::string& source) {
  const nlohmann::json j = parse_json(json_text, source);
  TM_CHECK(j.is_object(), source, ": training settings must be a JSON object");
  TrainSettings s;
  try {
    s.data = j.at("data").get<std::string>();
    s.encoder = j.at("encoder").get<std::string>();
    s.steps = j.at("steps").get<std::int64_t>();
    s.batch = j.at("batch").get<std::int64_t>();
    s.seq_len = j.at("seq_len").get<std::int64_t>();
    s.accum = j.at("accum").get<std::int64_t>();
    s.lr = j.at("lr").get<double>();
    s.min_lr = j.at("min_lr").get<double>();
    s.warmup = j.at("warmup").get<std::int64_t>();
    s.schedule_steps = j.at("schedule_steps").get<std::int64_t>();
    s.adamw.beta1 = j.at("beta1").get<double>();
    s.adamw.beta2 = j.at("beta2").get<double>();
    s.adamw.eps = j.at("eps").get<double>();
    s.adamw.weight_decay = j.at("weight_decay").get<double>();
    s.no_decay = j.at("no_decay").get<std::vector<std::string>>();
    s.clip = j.at("clip").get<double>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.eval_every = j.at("eval_every").get<std::int64_t>();
    s.eval_tokens = j.at("eval_tokens").get<std::int64_t>();
    s.save_every = j.at("save_every").get<std::int64_t>();
    s.scan = j.at("scan").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    fail(source, ": bad training settings: ", e.what());
  }
  return s;
}

}  // namespace tinymamba::train
