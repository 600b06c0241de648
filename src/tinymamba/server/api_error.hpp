// An error the server answers with an HTTP status and OpenAI's error body:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens" | null}}
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tinymamba::server {

class ApiError : public std::runtime_error {
 public:
  // The message is made one line: control characters (e.g. from a JSON parser quoting the input) become spaces.
  ApiError(int status, std::string message, std::string param = "", std::string type = "invalid_request_error")
      : std::runtime_error(one_line(std::move(message))), status_(status), param_(std::move(param)),
        type_(std::move(type)) {}

  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] const std::string& param() const { return param_; }
  [[nodiscard]] const std::string& type() const { return type_; }

  [[nodiscard]] nlohmann::json body() const {
    return {{"error",
             {{"message", what()}, {"type", type_}, {"param", param_.empty() ? nlohmann::json() : nlohmann::json(param_)}}}};
  }

 private:
  static std::string one_line(std::string s) {
    for (char& c : s)
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    return s;
  }

  int status_;
  std::string param_, type_;
};

}  // namespace tinymamba::server
