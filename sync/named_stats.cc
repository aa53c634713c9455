#include "named_stats.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>
#include <nlohmann/json.hpp>

#include "error.h"

namespace dnswash {

void normalize_runtime_zones(std::vector<DnsName> &zones) {
  std::erase_if(zones, [](const DnsName &n) { return n.is_root(); });
  std::sort(zones.begin(), zones.end());
  zones.erase(std::unique(zones.begin(), zones.end()), zones.end());
}

std::vector<DnsName> parse_named_stats_zones(std::string_view json) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception &e) {
    throw Error(std::string("named statistics: not complete JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("views") || !doc["views"].is_object())
    throw Error("named statistics: no \"views\" object (is this /json/v1/zones?)");
  std::vector<DnsName> out;
  for (const auto &[view, body] : doc["views"].items()) {
    if (!body.is_object() || !body.contains("zones") || !body["zones"].is_array())
      throw Error("named statistics: view '" + view + "' has no zones array");
    for (const auto &z : body["zones"]) {
      if (!z.is_object() || !z.contains("name") || !z["name"].is_string() || !z.contains("class") ||
          !z.contains("type"))
        throw Error("named statistics: view '" + view + "': a zone without name, class or type");
      std::string cls = z["class"].is_string() ? z["class"].get<std::string>() : "";
      std::string type = z["type"].is_string() ? z["type"].get<std::string>() : "";
      if (cls != "IN") continue;  // _bind's CHAOS zones, other classes
      if (type != "primary" && type != "secondary" && type != "master" && type != "slave")
        continue;  // mirror, stub, static-stub, redirect, builtin (empty zones) ...
      auto name = parse_dns_name(z["name"].get<std::string>());
      if (!name) continue;  // named printed it, so it is valid; be safe anyway
      out.push_back(std::move(*name));
    }
  }
  normalize_runtime_zones(out);
  return out;
}

namespace {

struct Body {
  std::string data;
  size_t max;
  bool too_big = false;
};

size_t on_data(char *ptr, size_t size, size_t n, void *user) {
  auto *b = static_cast<Body *>(user);
  if (b->data.size() + size * n > b->max) {
    b->too_big = true;
    return 0;  // aborts the transfer
  }
  b->data.append(ptr, size * n);
  return size * n;
}

}  // namespace

std::string http_get(const std::string &url, std::chrono::milliseconds timeout, size_t max_bytes) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, void (*)(CURL *)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) throw Error("curl_easy_init failed");
  Body body{{}, max_bytes};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);  // no SIGALRM in a threaded daemon
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, long(timeout.count()));
  curl_easy_setopt(curl.get(), CURLOPT_NOPROXY, "*");  // never through an environment proxy
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(curl.get());
  if (body.too_big)
    throw Error(url + ": reply larger than " + std::to_string(max_bytes) + " bytes");
  if (rc != CURLE_OK) throw Error(url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc)));
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) throw Error(url + ": HTTP status " + std::to_string(status));
  return std::move(body.data);
}

std::string stats_url_for(const std::string &address, int port) {
  std::string host = address;
  if (host == "*" || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

namespace {

class NamedStatsSource : public RuntimeSource {
 public:
  explicit NamedStatsSource(std::string url) : base_(std::move(url)) {
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }
  const std::string &name() const override { return name_; }
  std::string where() const override { return base_ + "/json/v1/zones"; }
  std::vector<DnsName> read() override {
    // 5 s: a million zones are ~150 MB of JSON that named needs a while to write.
    return parse_named_stats_zones(
        http_get(where(), std::chrono::milliseconds(5000), size_t(1) << 30));
  }

 private:
  std::string name_ = "named-stats";
  std::string base_;
};

}  // namespace

std::unique_ptr<RuntimeSource> make_named_stats_source(std::string url) {
  return std::make_unique<NamedStatsSource>(std::move(url));
}

}  // namespace dnswash
