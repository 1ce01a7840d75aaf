#include "sso/untrusted_xml.h"

#include <libxml/parser.h>
#include <zlib.h>

#include "common/strings.h"

namespace edgeidp::sso {

Result<Owned<xmlDoc>> parse_untrusted_xml(std::string_view bytes, std::size_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return make_error(Errc::limit, "XML document is over " + std::to_string(max_bytes) + " bytes");
  }
  if (!is_valid_utf8(bytes)) {
    return make_error(Errc::invalid, "XML document is not valid UTF-8");
  }
  // Refuse any DTD before the parser sees it: internal subsets are where
  // entity expansion (billion laughs) and external entities (XXE) live.
  if (bytes.find("<!DOCTYPE") != std::string_view::npos ||
      bytes.find("<!ENTITY") != std::string_view::npos) {
    return make_error(Errc::invalid, "XML document has a DTD (DOCTYPE); refused");
  }
  const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA;
  Owned<xmlDoc> doc(xmlReadMemory(bytes.data(), static_cast<int>(bytes.size()), "untrusted.xml",
                                  "UTF-8", options));
  xmlResetLastError();
  if (!doc) {
    return make_error(Errc::invalid, "XML document is not well-formed");
  }
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return make_error(Errc::invalid, "XML document has a DTD (DOCTYPE); refused");
  }
  if (xmlDocGetRootElement(doc.get()) == nullptr) {
    return make_error(Errc::invalid, "XML document has no root element");
  }
  return doc;
}

Result<std::string> inflate_raw(std::string_view in, std::size_t max_out) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
    return make_error(Errc::internal, "cannot start inflate");
  }
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef *>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return make_error(Errc::invalid, "bad DEFLATE data");
    }
    const std::size_t got = sizeof buf - zs.avail_out;
    if (out.size() + got > max_out) {
      inflateEnd(&zs);
      return make_error(Errc::limit, "inflated data is over " + std::to_string(max_out) + " bytes");
    }
    out.append(buf, got);
    if (rc == Z_OK && got == 0 && zs.avail_in == 0) {
      inflateEnd(&zs);
      return make_error(Errc::invalid, "truncated DEFLATE data");
    }
  }
  inflateEnd(&zs);
  return out;
}

bool is_element(const xmlNode *node, const char *ns, const char *name) {
  return node != nullptr && node->type == XML_ELEMENT_NODE && node->ns != nullptr &&
         xmlStrEqual(node->ns->href, reinterpret_cast<const xmlChar *>(ns)) &&
         xmlStrEqual(node->name, reinterpret_cast<const xmlChar *>(name));
}

const xmlNode *first_child(const xmlNode *parent, const char *ns, const char *name) {
  for (const xmlNode *c = parent == nullptr ? nullptr : parent->children; c != nullptr;
       c = c->next) {
    if (is_element(c, ns, name)) {
      return c;
    }
  }
  return nullptr;
}

std::string attr(const xmlNode *node, const char *name) {
  Owned<xmlChar> v(xmlGetNoNsProp(node, reinterpret_cast<const xmlChar *>(name)));
  return v ? std::string(reinterpret_cast<const char *>(v.get())) : std::string();
}

bool has_attr(const xmlNode *node, const char *name) {
  return xmlHasNsProp(node, reinterpret_cast<const xmlChar *>(name), nullptr) != nullptr;
}

std::string text(const xmlNode *node) {
  Owned<xmlChar> v(xmlNodeGetContent(node));
  return v ? std::string(reinterpret_cast<const char *>(v.get())) : std::string();
}

}  // namespace edgeidp::sso
