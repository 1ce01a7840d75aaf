// Helpers shared by the document builders in saml/ (response, metadata).
// Internal to saml/.
#pragma once

#include <string>
#include <string_view>

#include <libxml/tree.h>

#include "common/owned.h"
#include "common/result.h"
#include "common/strings.h"

namespace edgeidp::saml::detail {

inline const xmlChar *x(const char *s) {
  return reinterpret_cast<const xmlChar *>(s);
}
inline const xmlChar *x(const std::string &s) {
  return x(s.c_str());
}

// XML 1.0 cannot carry C0 controls other than tab, LF and CR, nor U+FFFE/
// U+FFFF, even escaped: libxml2 would write them as character references
// that every SP's parser then rejects. Refuse them up front, naming the field.
inline Status check_xml_text(std::string_view text, const std::string &field) {
  if (!is_valid_utf8(text)) {
    return make_error(Errc::invalid, field + " is not valid UTF-8");
  }
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool control = c < 0x20 && c != '\t' && c != '\n' && c != '\r';
    const bool nonchar = c == 0xef && i + 2 < text.size() &&
                         static_cast<unsigned char>(text[i + 1]) == 0xbf &&
                         (static_cast<unsigned char>(text[i + 2]) & 0xfe) == 0xbe;
    if (control || nonchar) {
      return make_error(Errc::invalid, field + " contains a character XML cannot carry");
    }
  }
  return {};
}

inline Status check_xml_required(std::string_view text, const std::string &field) {
  if (text.empty()) {
    return make_error(Errc::invalid, field + " is empty");
  }
  return check_xml_text(text, field);
}

// Tree building through libxml2 only, so the serializer escapes every
// value. A failed allocation returns null, which the next libxml2 call
// accepts and ignores; ok() reports it once at the end.
class Tree {
 public:
  explicit Tree(xmlDoc *doc) : doc_(doc) {}

  xmlNode *element(xmlNode *parent, xmlNs *ns, const char *name) {
    return note(xmlNewChild(parent, ns, x(name), nullptr));
  }
  // xmlNewTextChild stores 'text' as a raw text node (no entity parsing).
  xmlNode *text_element(xmlNode *parent, xmlNs *ns, const char *name, const std::string &text) {
    return note(xmlNewTextChild(parent, ns, x(name), x(text)));
  }
  void attr(xmlNode *node, const char *name, const std::string &value) {
    note(xmlNewProp(node, x(name), x(value)));
  }
  void attr(xmlNode *node, xmlNs *ns, const char *name, const char *value) {
    note(xmlNewNsProp(node, ns, x(name), x(value)));
  }
  xmlNs *ns(xmlNode *node, const char *href, const char *prefix) {
    return note(xmlNewNs(node, x(href), x(prefix)));
  }
  // A root element in namespace 'href' with that namespace declared on it.
  xmlNode *root(const char *href, const char *prefix, const char *name) {
    xmlNode *node = note(xmlNewDocNode(doc_, nullptr, x(name), nullptr));
    if (node != nullptr) {
      xmlDocSetRootElement(doc_, node);
      xmlSetNs(node, ns(node, href, prefix));
    }
    return node;
  }
  bool ok() const { return ok_; }

 private:
  template <class P>
  P *note(P *p) {
    if (p == nullptr) {
      ok_ = false;
    }
    return p;
  }

  xmlDoc *doc_;
  bool ok_ = true;
};

// serialize writes 'doc' as UTF-8 with an XML declaration and no BOM.
// 'format' indents; never use it on signed documents.
inline Result<std::string> serialize(xmlDoc *doc, bool format) {
  xmlChar *mem = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc, &mem, &size, "UTF-8", format ? 1 : 0);
  Owned<xmlChar> owned(mem);
  if (!owned || size <= 0) {
    return make_error(Errc::internal, "cannot serialize an XML document");
  }
  return std::string(reinterpret_cast<const char *>(mem), static_cast<std::size_t>(size));
}

}  // namespace edgeidp::saml::detail
