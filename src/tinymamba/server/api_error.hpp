// An error the server answers with an HTTP status and OpenAI's error body:
//   {"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens" | null}}
#pragma once

#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace tinymamba::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string type = "invalid_request_error")
      : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), type_(std::move(type)) {}

  [[nodiscard]] int status() const { return status_; }
  [[nodiscard]] const std::string& param() const { return param_; }
  [[nodiscard]] const std::string& type() const { return type_; }

  [[nodiscard]] nlohmann::json body() const {
    return {{"error",
             {{"message", what()}, {"type", type_}, {"param", param_.empty() ? nlohmann::json() : nlohmann::json(param_)}}}};
  }

 private:
  int status_;
  std::string param_, type_;
};

}  // namespace tinymamba::server
