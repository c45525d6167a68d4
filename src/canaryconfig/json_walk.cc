#include "canaryconfig/json_walk.h"

#include <boost/json/basic_parser_impl.hpp>
#include <cctype>
#include <charconv>
#include <cmath>

namespace canaryd::canaryconfig::detail {

namespace {

// Boost.JSON 1.81 converts numbers with up to an ulp of error (its precise mode came in 1.83).
// Canary data must reach the judge bit-exact, so this handler re-converts every floating-point
// number with std::from_chars (correctly rounded) and otherwise builds the value as Boost does.
class PreciseHandler {
 public:
  static constexpr size_t max_object_size = boost::json::object::max_size();
  static constexpr size_t max_array_size = boost::json::array::max_size();
  static constexpr size_t max_key_size = boost::json::string::max_size();
  static constexpr size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack st;

  bool on_document_begin(boost::system::error_code&) {
    st.reset();
    return true;
  }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(size_t n, boost::system::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(size_t n, boost::system::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(boost::json::string_view s, size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, size_t, boost::system::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(boost::json::string_view s, size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, size_t, boost::system::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(int64_t i, boost::json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(uint64_t u, boost::json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, boost::json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    double exact = 0;
    const char* end = number_.data() + number_.size();
    const auto r = std::from_chars(number_.data(), end, exact);
    st.push_double(r.ec == std::errc() && r.ptr == end ? exact : d);
    number_.clear();
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

 private:
  std::string number_;
};

}  // namespace

boost::json::value ParseJson(std::string_view text, std::string& error) {
  boost::json::parse_options opts;
  opts.max_depth = 64;  // configs nest 5 deep; this bounds the recursion on hostile input
  boost::json::basic_parser<PreciseHandler> parser(opts);
  boost::system::error_code ec;
  size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    ec = boost::json::error::extra_data;
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
  return parser.handler().st.release();
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

namespace canaryd::canaryconfig::detail {
namespace {

void Write(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {
        out += "null";  // JSON has no NaN or infinity
        return;
      }
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, d);
      out.append(buf, r.ptr);
      return;
    }
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        Write(e, out);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& [k, e] : v.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        out += boost::json::serialize(boost::json::string_view(k));
        out.push_back(':');
        Write(e, out);
      }
      out.push_back('}');
      return;
    }
    default:
      out += boost::json::serialize(v);
  }
}

}  // namespace

std::string Serialize(const boost::json::value& v) {
  std::string out;
  Write(v, out);
  return out;
}

}  // namespace canaryd::canaryconfig::detail
