#include "canaryconfig/json_walk.h"

#include <cctype>

namespace canaryd::canaryconfig::detail {

boost::json::value ParseJson(std::string_view text, std::string& error) {
  boost::json::parse_options opts;
  opts.max_depth = 64;  // configs nest 5 deep; this bounds the recursion on hostile input
  boost::json::stream_parser parser({}, opts);
  boost::system::error_code ec;
  size_t consumed = parser.write(text.data(), text.size(), ec);
  if (!ec) {
    parser.finish(ec);
    consumed = text.size();
  }
  if (ec) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < consumed && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    error = "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(column) +
            ": " + ec.message();
    return nullptr;
  }
  return parser.release();
}

std::string Member(std::string_view base, std::string_view key) {
  bool plain = !key.empty() && (std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_');
  for (const char c : key) {
    plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  }
  std::string out(base);
  if (plain) {
    if (!out.empty()) {
      out += '.';
    }
    out += key;
    return out;
  }
  out += "[\"";
  for (const char c : key) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += "\"]";
  return out;
}

std::string Index(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

std::string_view KindName(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "an array";
    case boost::json::kind::object:
      return "an object";
  }
  return "a value";
}

}  // namespace canaryd::canaryconfig::detail
