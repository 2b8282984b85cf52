#include "store/s3/xml.h"

#include <charconv>
#include <cstdint>
#include <string>
#include <vector>

namespace cairn::store::s3 {
namespace {

using base::Result;
using base::Status;

constexpr size_t kMaxDepth = 64;  // S3 documents nest 3 or 4 deep
constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

Status Malformed(std::string_view doc, std::string_view what) {
  std::string msg = "malformed S3 response: ";
  msg += doc;
  msg += ": ";
  msg += what;
  return base::Error(base::Code::kInternal, std::move(msg));
}

// One element: its local name (namespace prefix dropped), the concatenated character data of
// its direct content, and its child elements in document order.
struct Node {
  std::string name;
  std::string text;
  std::vector<Node> children;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one reference body ("amp", "#38", "#x26") into *out; false if it is not valid.
bool DecodeReference(std::string_view ref, std::string* out) {
  static constexpr std::pair<std::string_view, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (const auto& [name, c] : kNamed) {
    if (ref == name) {
      *out += c;
      return true;
    }
  }
  if (ref.size() < 2 || ref[0] != '#') return false;
  const bool hex = ref[1] == 'x';
  const std::string_view digits = ref.substr(hex ? 2 : 1);
  uint32_t cp = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) return false;
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  AppendUtf8(cp, out);
  return true;
}

// A single-pass, non-recursive parser building a Node tree of the whole document (S3 bodies
// are at most a few hundred kilobytes).
class Parser {
 public:
  Parser(std::string_view in, std::string_view doc) : in_(in), doc_(doc) {}

  Result<Node> Parse() {
    if (in_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // UTF-8 byte order mark
    Node root;
    bool have_root = false;
    std::vector<Node*> open;
    std::vector<std::string> open_qnames;
    while (pos_ < in_.size()) {
      if (open.empty()) {  // prolog or epilog: only markup that is not an element, and spaces
        while (pos_ < in_.size() && IsSpace(in_[pos_])) ++pos_;
        if (pos_ == in_.size()) break;
        if (At("<?")) {
          RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
        } else if (At("<!--")) {
          RETURN_IF_ERROR(SkipPast("-->", "comment"));
        } else if (At("<!")) {
          return Error("DOCTYPE and other declarations are not accepted");
        } else if (in_[pos_] != '<') {
          return Error("text outside the root element");
        } else if (have_root) {
          return Error("more than one root element");
        } else if (At("</")) {
          return Error("end tag before any start tag");
        } else {
          std::string qname;
          bool empty = false;
          RETURN_IF_ERROR(StartTag(&qname, &empty));
          root.name = LocalName(qname);
          have_root = true;
          if (!empty) {
            open.push_back(&root);
            open_qnames.push_back(std::move(qname));
          }
        }
        continue;
      }
      Node* cur = open.back();
      if (in_[pos_] != '<') {
        size_t lt = in_.find('<', pos_);
        if (lt == std::string_view::npos) lt = in_.size();
        RETURN_IF_ERROR(AppendText(in_.substr(pos_, lt - pos_), &cur->text));
        pos_ = lt;
      } else if (At("<!--")) {
        RETURN_IF_ERROR(SkipPast("-->", "comment"));
      } else if (At("<![CDATA[")) {
        const size_t start = pos_ + 9;
        const size_t end = in_.find("]]>", start);
        if (end == std::string_view::npos) return Error("unterminated CDATA section");
        cur->text.append(in_.substr(start, end - start));
        pos_ = end + 3;
      } else if (At("<?")) {
        RETURN_IF_ERROR(SkipPast("?>", "processing instruction"));
      } else if (At("<!")) {
        return Error("unexpected declaration inside an element");
      } else if (At("</")) {
        const size_t gt = in_.find('>', pos_);
        if (gt == std::string_view::npos) return Error("unterminated end tag");
        std::string_view qname = Trim(in_.substr(pos_ + 2, gt - pos_ - 2));
        if (qname != open_qnames.back()) {
          return Error("end tag </" + std::string(qname.substr(0, 64)) + "> does not match <" +
                       open_qnames.back() + ">");
        }
        pos_ = gt + 1;
        open.pop_back();
        open_qnames.pop_back();
      } else {
        std::string qname;
        bool empty = false;
        RETURN_IF_ERROR(StartTag(&qname, &empty));
        Node& child = cur->children.emplace_back();
        child.name = LocalName(qname);
        if (!empty) {
          if (open.size() >= kMaxDepth) return Error("elements nested too deeply");
          open.push_back(&child);
          open_qnames.push_back(std::move(qname));
        }
      }
    }
    if (!have_root) return Error("no root element");
    if (!open.empty()) return Error("document ends inside <" + open_qnames.back() + ">");
    return root;
  }

 private:
  bool At(std::string_view s) const { return in_.substr(pos_).starts_with(s); }

  Status Error(std::string what) const {
    return Malformed(doc_, what + " (at byte " + std::to_string(pos_) + ")");
  }

  static std::string LocalName(std::string_view qname) {
    const size_t colon = qname.rfind(':');
    return std::string(colon == std::string_view::npos ? qname : qname.substr(colon + 1));
  }

  Status SkipPast(std::string_view end, std::string_view what) {
    const size_t at = in_.find(end, pos_);
    if (at == std::string_view::npos) return Error("unterminated " + std::string(what));
    pos_ = at + end.size();
    return Status::Ok();
  }

  // At '<' of "<name attr='v' ...>" or "<name/>"; attributes are checked for shape and dropped.
  Status StartTag(std::string* qname, bool* empty) {
    size_t p = pos_ + 1;
    const size_t name_start = p;
    while (p < in_.size() && !IsSpace(in_[p]) && in_[p] != '>' && in_[p] != '/' && in_[p] != '<' &&
           in_[p] != '=') {
      ++p;
    }
    if (p == name_start) return Error("element without a name");
    *qname = std::string(in_.substr(name_start, p - name_start));
    while (true) {
      while (p < in_.size() && IsSpace(in_[p])) ++p;
      if (p >= in_.size()) break;
      if (in_[p] == '>') {
        pos_ = p + 1;
        *empty = false;
        return Status::Ok();
      }
      if (in_.substr(p).starts_with("/>")) {
        pos_ = p + 2;
        *empty = true;
        return Status::Ok();
      }
      const size_t attr_start = p;
      while (p < in_.size() && !IsSpace(in_[p]) && in_[p] != '=' && in_[p] != '>' &&
             in_[p] != '/' && in_[p] != '<') {
        ++p;
      }
      if (p == attr_start) break;
      while (p < in_.size() && IsSpace(in_[p])) ++p;
      if (p >= in_.size() || in_[p] != '=') break;
      ++p;
      while (p < in_.size() && IsSpace(in_[p])) ++p;
      if (p >= in_.size() || (in_[p] != '"' && in_[p] != '\'')) break;
      const size_t close = in_.find(in_[p], p + 1);
      if (close == std::string_view::npos) break;
      p = close + 1;
    }
    pos_ = p;
    return Error("malformed start tag <" + qname->substr(0, 64) + ">");
  }

  Status AppendText(std::string_view raw, std::string* out) {
    out->reserve(out->size() + raw.size());
    size_t i = 0;
    while (i < raw.size()) {
      const size_t amp = raw.find('&', i);
      if (amp == std::string_view::npos) {
        out->append(raw.substr(i));
        break;
      }
      out->append(raw.substr(i, amp - i));
      const size_t semi = raw.find(';', amp);
      // The longest valid reference is "&#x10FFFF;" / "&#1114111;".
      if (semi == std::string_view::npos || semi - amp > 10 ||
          !DecodeReference(raw.substr(amp + 1, semi - amp - 1), out)) {
        pos_ += amp;
        return Error("invalid entity or character reference");
      }
      i = semi + 1;
    }
    return Status::Ok();
  }

  std::string_view in_;
  std::string_view doc_;
  size_t pos_ = 0;
};

Result<Node> ParseRoot(std::string_view body, std::string_view doc) {
  return Parser(body, doc).Parse();
}

const Node* FindChild(const Node& n, std::string_view name) {
  for (const Node& c : n.children) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

std::string ChildText(const Node& n, std::string_view name) {
  const Node* c = FindChild(n, name);
  return c == nullptr ? std::string() : c->text;
}

Result<bool> ParseBool(const Node& n, std::string_view name, std::string_view doc) {
  const Node* c = FindChild(n, name);
  if (c == nullptr) return false;
  const std::string_view v = Trim(c->text);
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE" || v.empty()) return false;
  return Malformed(doc, "<" + std::string(name) + "> is not a boolean");
}

std::string StripQuotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// EncodingType=url values: form-encoded ('+' is a space), invalid escapes kept literally.
std::string UrlDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && HexDigit(s[i + 1]) >= 0 &&
               HexDigit(s[i + 2]) >= 0) {
      out += static_cast<char>(HexDigit(s[i + 1]) * 16 + HexDigit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool UrlEncoded(const Node& root) { return Trim(ChildText(root, "EncodingType")) == "url"; }

Result<Node> ExpectRoot(std::string_view body, std::string_view root_name, std::string_view doc) {
  ASSIGN_OR_RETURN(Node root, ParseRoot(body, doc));
  if (root.name != root_name) {
    return Malformed(
        doc, "expected <" + std::string(root_name) + ">, got <" + root.name.substr(0, 64) + ">");
  }
  return root;
}

Result<S3Error> ErrorFromNode(const Node& n, std::string_view doc) {
  S3Error e;
  e.code = std::string(Trim(ChildText(n, "Code")));
  if (e.code.empty()) return Malformed(doc, "<Error> without <Code>");
  e.message = ChildText(n, "Message");
  e.request_id = ChildText(n, "RequestId");
  e.host_id = ChildText(n, "HostId");
  for (std::string_view name : {"Resource", "Key", "BucketName"}) {
    if (const Node* c = FindChild(n, name); c != nullptr && !c->text.empty()) {
      e.resource = c->text;
      break;
    }
  }
  return e;
}

}  // namespace

Result<S3Error> ParseError(std::string_view body) {
  constexpr std::string_view kDoc = "error document";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "Error", kDoc));
  return ErrorFromNode(root, kDoc);
}

Result<ListObjectsResult> ParseListObjectsV2(std::string_view body) {
  constexpr std::string_view kDoc = "ListObjectsV2";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "ListBucketResult", kDoc));
  const bool url = UrlEncoded(root);
  ListObjectsResult out;
  for (const Node& c : root.children) {
    if (c.name == "Contents") {
      ListedObject o;
      const Node* key = FindChild(c, "Key");
      if (key == nullptr || key->text.empty()) return Malformed(kDoc, "<Contents> without <Key>");
      o.key = url ? UrlDecode(key->text) : key->text;
      const Node* size = FindChild(c, "Size");
      const std::string_view digits = size == nullptr ? "" : Trim(size->text);
      auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), o.size);
      if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
        return Malformed(kDoc, "<Contents> without a valid <Size>");
      }
      o.etag = StripQuotes(ChildText(c, "ETag"));
      o.last_modified = ChildText(c, "LastModified");
      o.storage_class = ChildText(c, "StorageClass");
      out.objects.push_back(std::move(o));
    } else if (c.name == "CommonPrefixes") {
      for (const Node& p : c.children) {
        if (p.name == "Prefix") out.common_prefixes.push_back(url ? UrlDecode(p.text) : p.text);
      }
    }
  }
  ASSIGN_OR_RETURN(out.is_truncated, ParseBool(root, "IsTruncated", kDoc));
  out.next_continuation_token = ChildText(root, "NextContinuationToken");
  if (out.is_truncated && out.next_continuation_token.empty()) {
    return Malformed(kDoc, "truncated listing without <NextContinuationToken>");
  }
  return out;
}

Result<ListUploadsResult> ParseListMultipartUploads(std::string_view body) {
  constexpr std::string_view kDoc = "ListMultipartUploads";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "ListMultipartUploadsResult", kDoc));
  const bool url = UrlEncoded(root);
  ListUploadsResult out;
  for (const Node& c : root.children) {
    if (c.name != "Upload") continue;
    ListedUpload u;
    const std::string key = ChildText(c, "Key");
    u.key = url ? UrlDecode(key) : key;
    u.upload_id = ChildText(c, "UploadId");
    u.initiated = ChildText(c, "Initiated");
    if (u.key.empty() || u.upload_id.empty()) {
      return Malformed(kDoc, "<Upload> without <Key> or <UploadId>");
    }
    out.uploads.push_back(std::move(u));
  }
  ASSIGN_OR_RETURN(out.is_truncated, ParseBool(root, "IsTruncated", kDoc));
  const std::string marker = ChildText(root, "NextKeyMarker");
  out.next_key_marker = url ? UrlDecode(marker) : marker;
  out.next_upload_id_marker = ChildText(root, "NextUploadIdMarker");
  if (out.is_truncated && out.next_key_marker.empty()) {
    return Malformed(kDoc, "truncated listing without <NextKeyMarker>");
  }
  return out;
}

Result<ListPartsResult> ParseListParts(std::string_view body) {
  constexpr std::string_view kDoc = "ListParts";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "ListPartsResult", kDoc));
  ListPartsResult out;
  for (const Node& c : root.children) {
    if (c.name != "Part") continue;
    const std::string size = std::string(Trim(ChildText(c, "Size")));
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), n);
    if (size.empty() || ec != std::errc() || end != size.data() + size.size()) {
      return Malformed(kDoc, "<Part> with <Size> '" + size + "'");
    }
    out.bytes += n;
    ++out.parts;
  }
  ASSIGN_OR_RETURN(out.is_truncated, ParseBool(root, "IsTruncated", kDoc));
  out.next_part_number_marker = std::string(Trim(ChildText(root, "NextPartNumberMarker")));
  if (out.is_truncated && out.next_part_number_marker.empty()) {
    return Malformed(kDoc, "truncated listing without <NextPartNumberMarker>");
  }
  return out;
}

Result<std::string> ParseInitiateMultipartUpload(std::string_view body) {
  constexpr std::string_view kDoc = "CreateMultipartUpload";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "InitiateMultipartUploadResult", kDoc));
  std::string id = ChildText(root, "UploadId");
  if (id.empty()) return Malformed(kDoc, "no <UploadId>");
  return id;
}

Result<CompleteResult> ParseCompleteMultipartUpload(std::string_view body) {
  constexpr std::string_view kDoc = "CompleteMultipartUpload";
  ASSIGN_OR_RETURN(Node root, ParseRoot(body, kDoc));
  CompleteResult out;
  if (root.name == "Error") {
    out.is_error = true;
    ASSIGN_OR_RETURN(out.error, ErrorFromNode(root, kDoc));
    return out;
  }
  if (root.name != "CompleteMultipartUploadResult") {
    return Malformed(kDoc, "expected <CompleteMultipartUploadResult> or <Error>, got <" +
                               root.name.substr(0, 64) + ">");
  }
  // Ceph RGW answers with an empty <ETag/> (HEAD has the real one), so an empty ETag is
  // accepted: the result element itself is what says the upload completed.
  out.etag = StripQuotes(ChildText(root, "ETag"));
  return out;
}

Result<DeleteResult> ParseDeleteObjects(std::string_view body) {
  constexpr std::string_view kDoc = "DeleteObjects";
  ASSIGN_OR_RETURN(Node root, ExpectRoot(body, "DeleteResult", kDoc));
  DeleteResult out;
  for (const Node& c : root.children) {
    if (c.name == "Deleted") {
      std::string key = ChildText(c, "Key");
      if (key.empty()) return Malformed(kDoc, "<Deleted> without <Key>");
      out.deleted.push_back(std::move(key));
    } else if (c.name == "Error") {
      ASSIGN_OR_RETURN(S3Error e, ErrorFromNode(c, kDoc));
      e.resource = ChildText(c, "Key");  // the key, not any other resource
      if (e.resource.empty()) return Malformed(kDoc, "<Error> without <Key>");
      out.errors.push_back(std::move(e));
    }
  }
  return out;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\r': out += "&#13;"; break;
      case '\n': out += "&#10;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string BuildCompleteMultipartUpload(
    const std::vector<std::pair<int, std::string>>& part_etags) {
  std::string out = "<CompleteMultipartUpload xmlns=\"";
  out += kS3Namespace;
  out += "\">";
  for (const auto& [number, etag] : part_etags) {
    out += "<Part><PartNumber>";
    out += std::to_string(number);
    out += "</PartNumber><ETag>";
    out += XmlEscape(etag.starts_with('"') ? etag : "\"" + etag + "\"");
    out += "</ETag></Part>";
  }
  out += "</CompleteMultipartUpload>";
  return out;
}

std::string BuildDeleteObjects(const std::vector<std::string>& keys, bool quiet) {
  std::string out = "<Delete xmlns=\"";
  out += kS3Namespace;
  out += "\">";
  if (quiet) out += "<Quiet>true</Quiet>";
  for (const std::string& key : keys) {
    out += "<Object><Key>";
    out += XmlEscape(key);
    out += "</Key></Object>";
  }
  out += "</Delete>";
  return out;
}

}  // namespace cairn::store::s3
