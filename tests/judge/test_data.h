#pragma once
// Loading the committed test data (Kayenta's vectors, R's golden intervals).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "canaryconfig/json_walk.h"

namespace canaryd::judge::testing {

inline boost::json::value LoadJson(const std::string& name) {
  std::ifstream f(std::string(CANARYD_JUDGE_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  if (ss.str().empty()) {
    ADD_FAILURE() << "cannot read " << name;
    return nullptr;
  }
  // Exact number conversion: the golden values must reach the code as the doubles R printed.
  std::string error;
  boost::json::value v = canaryconfig::detail::ParseJson(ss.str(), error);
  if (!error.empty()) {
    ADD_FAILURE() << name << ": " << error;
  }
  return v;
}

inline std::vector<double> Doubles(const boost::json::value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array()) {
    out.push_back(x.is_string() ? std::stod(std::string(x.as_string())) : x.to_number<double>());
  }
  return out;
}

inline double Num(const boost::json::value& v) {
  if (v.is_null()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (v.is_string()) {
    return std::stod(std::string(v.as_string()));  // "NaN"
  }
  return v.to_number<double>();
}

// A gtest-safe name for a parameterized case.
inline std::string CaseName(std::string s, size_t index) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return std::to_string(index) + "_" + s;
}

}  // namespace canaryd::judge::testing

namespace boost::json {
// Parameterized cases print as their name, not as bytes.
inline void PrintTo(const object& o, std::ostream* os) {
  const value* name = o.if_contains("name");
  *os << (name != nullptr ? serialize(*name) : std::string("<case>"));
}
}  // namespace boost::json
