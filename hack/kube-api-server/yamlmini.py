"""A YAML subset parser for Kubernetes manifests (no PyYAML here).

Handles what manifests are written with: multi-document streams (---, ...), block mappings and
sequences (including `- key: value` items and sequences at their parent key's indentation),
plain, single- and double-quoted scalars (also over several lines), literal and folded block
scalars with chomping and indentation indicators, flow sequences and mappings (also over several
lines), comments, and the `!!str`/`!!int`/... tags. Scalars resolve as sigs.k8s.io/yaml (go-yaml
v2, YAML 1.1) resolves them: yes/no/on/off are booleans, 0777 is octal, ~ is null. Anchors,
aliases and merge keys are refused with an error rather than misread."""
import json
import re


class YAMLError(ValueError):
    pass


_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*)")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?")


def resolve(text):
    if text in _NULL:
        return None
    if text in _BOOL_TRUE:
        return True
    if text in _BOOL_FALSE:
        return False
    if _INT.fullmatch(text):
        t = text.replace("_", "")
        sign = -1 if t.startswith("-") else 1
        t = t.lstrip("+-")
        if t.startswith("0b"):
            return sign * int(t[2:], 2)
        if t.startswith("0x"):
            return sign * int(t[2:], 16)
        if t.startswith("0o"):
            return sign * int(t[2:], 8)
        if len(t) > 1 and t.startswith("0"):
            return sign * int(t, 8)
        return sign * int(t)
    if _FLOAT.fullmatch(text):
        f = float(text.replace("_", ""))
        # sigs.k8s.io/yaml writes whole floats as JSON integers (3.0 -> 3).
        return int(f) if f.is_integer() and abs(f) < 2 ** 63 else f
    if text.lower() in (".inf", "+.inf"):
        return float("inf")
    if text.lower() == "-.inf":
        return float("-inf")
    if text.lower() == ".nan":
        return float("nan")
    return text


def _tagged(tag, text, quoted):
    if tag in (None, "!"):
        return text if quoted else resolve(text)
    if tag == "!!str":
        return text
    if tag == "!!int":
        return int(text, 0)
    if tag == "!!float":
        return float(text)
    if tag == "!!bool":
        return resolve(text) is True
    if tag == "!!null":
        return None
    if tag == "!!binary":
        return re.sub(r"\s+", "", text)
    raise YAMLError(f"unsupported tag {tag}")


def _strip_comment(s):
    """Removes a trailing ` # comment` from a plain (unquoted) fragment."""
    if s.startswith("#"):
        return ""
    i = s.find(" #")
    j = s.find("\t#")
    cut = min(x for x in (i, j, len(s)) if x >= 0)
    return s[:cut].rstrip()


def _unescape_double(body):
    out = []
    i = 0
    simple = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
              "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "\\": "\\",
              "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        n = body[i + 1] if i + 1 < len(body) else ""
        if n in simple:
            out.append(simple[n])
            i += 2
        elif n in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[n]
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
        elif n == "\n":
            i += 2
            while i < len(body) and body[i] in " \t":
                i += 1
        else:
            raise YAMLError(f"unknown escape \\{n}")
    return "".join(out)


def _fold_quoted(raw):
    """Line folding inside quoted scalars: a single newline becomes a space, n+1 become n."""
    lines = raw.split("\n")
    if len(lines) == 1:
        return raw
    out = lines[0].rstrip(" \t")
    empties = 0
    for ln in lines[1:]:
        s = ln.strip(" \t")
        if not s:
            empties += 1
            continue
        out += ("\n" * empties) if empties else " "
        empties = 0
        out += s
    if empties:
        out += "\n" * empties
    return out


class _Flow:
    def __init__(self, text):
        self.s = text
        self.i = 0

    def ws(self):
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r\n":
                self.i += 1
            elif c == "#" and (self.i == 0 or self.s[self.i - 1] in " \t\n"):
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.i += 1
            else:
                break

    def value(self):
        self.ws()
        c = self.s[self.i] if self.i < len(self.s) else ""
        if c == "[":
            self.i += 1
            out = []
            while True:
                self.ws()
                if self.s[self.i:self.i + 1] == "]":
                    self.i += 1
                    return out
                item = self.value()
                self.ws()
                if self.s[self.i:self.i + 1] == ":":
                    self.i += 1
                    item = {_key(item): self.value()}
                    self.ws()
                out.append(item)
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
                elif self.s[self.i:self.i + 1] != "]":
                    raise YAMLError(f"expected ',' or ']' in flow sequence: {self.s!r}")
        if c == "{":
            self.i += 1
            out = {}
            while True:
                self.ws()
                if self.s[self.i:self.i + 1] == "}":
                    self.i += 1
                    return out
                k = self.value()
                self.ws()
                v = None
                if self.s[self.i:self.i + 1] == ":":
                    self.i += 1
                    v = self.value()
                    self.ws()
                out[_key(k)] = v
                if self.s[self.i:self.i + 1] == ",":
                    self.i += 1
                elif self.s[self.i:self.i + 1] != "}":
                    raise YAMLError(f"expected ',' or '}}' in flow mapping: {self.s!r}")
        if c in "\"'":
            return self.quoted(c)
        if c in "&*":
            raise YAMLError("anchors and aliases are not supported")
        start = self.i
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in ",]}":
                break
            if c == ":" and (self.i + 1 >= len(self.s) or self.s[self.i + 1] in " \t\n,]}"):
                break
            if c == "#" and self.s[self.i - 1] in " \t":
                break
            self.i += 1
        return resolve(" ".join(self.s[start:self.i].split()))

    def quoted(self, q):
        j = self.i + 1
        while True:
            k = self.s.find(q, j)
            if k < 0:
                raise YAMLError("unterminated quoted scalar")
            if q == "'" and self.s[k + 1:k + 2] == "'":
                j = k + 2
                continue
            if q == '"':
                bs = 0
                while self.s[k - 1 - bs] == "\\":
                    bs += 1
                if bs % 2:
                    j = k + 1
                    continue
            break
        raw = self.s[self.i + 1:k]
        self.i = k + 1
        if q == "'":
            return _fold_quoted(raw).replace("''", "'")
        return _unescape_double(_fold_quoted_keep_escapes(raw))


def _fold_quoted_keep_escapes(raw):
    # An escaped line break ("\" at end of line) joins lines without a space.
    parts = re.split(r"\\\n[ \t]*", raw)
    return "".join(_fold_quoted(p) for p in parts)


def _key(k):
    if isinstance(k, bool):
        return "true" if k else "false"
    if k is None:
        return "null"
    if isinstance(k, float) and k.is_integer():
        return str(int(k))
    if isinstance(k, (dict, list)):
        raise YAMLError("complex mapping keys are not supported")
    return str(k)


# A mapping key line: a quoted or plain key followed by ':' and a space or the line's end.
_KEYLINE = re.compile(r"""^(?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'"""
                      r"""|[^\s#'"\[\]{},&*!|>%@`-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s|$)""")


class _Parser:
    def __init__(self, lines):
        self.lines = lines
        self.i = 0

    def skip(self):
        while self.i < len(self.lines):
            s = self.lines[self.i].strip()
            if s and not s.startswith("#"):
                return True
            self.i += 1
        return False

    def indent(self, i=None):
        ln = self.lines[self.i if i is None else i]
        return len(ln) - len(ln.lstrip(" "))

    def block(self, min_indent):
        if not self.skip() or self.indent() < min_indent:
            return None
        ind = self.indent()
        s = self.lines[self.i].strip()
        if s == "-" or s.startswith("- "):
            return self.sequence(ind)
        if _KEYLINE.match(s):
            return self.mapping(ind)
        if s[0] in "|>":
            return self.block_scalar(ind - 1, s)
        tag = None
        if s.startswith("!"):
            tag, _, s = s.partition(" ")
            s = s.strip()
        if s and s[0] in "[{\"'":
            return self.flow_lines(ind - 1, s, tag)
        return self.scalar_lines(ind - 1, s, tag)

    def sequence(self, ind):
        out = []
        while self.skip() and self.indent() == ind:
            s = self.lines[self.i].strip()
            if not (s == "-" or s.startswith("- ")):
                break
            rest = s[1:].lstrip(" ")
            if not rest or rest.startswith("#"):
                self.i += 1
                out.append(self.block(ind + 1))
                continue
            # Re-read the item as a line indented to where its content starts.
            col = len(self.lines[self.i]) - len(self.lines[self.i].lstrip(" ")) + 1
            col += len(s) - 1 - len(rest)
            self.lines[self.i] = " " * col + rest
            out.append(self.block(col))
        return out

    def mapping(self, ind):
        out = {}
        while self.skip() and self.indent() == ind:
            s = self.lines[self.i].strip()
            m = _KEYLINE.match(s)
            if not m or s.startswith("- ") or s == "-":
                break
            raw_key = m.group(0).rstrip()[:-1].rstrip()
            if raw_key == "<<":
                raise YAMLError("merge keys are not supported")
            key = _Flow(raw_key).value() if raw_key[0] in "\"'" else resolve(raw_key)
            key = _key(key)
            rest = s[m.end():].strip()
            if key in out:
                raise YAMLError(f'line {self.i + 1}: mapping key "{key}" already defined')
            out[key] = self.value_after(ind, rest)
        return out

    def value_after(self, ind, rest):
        """The value following `key:` (rest is what follows the colon on that line)."""
        tag = None
        if rest.startswith("!"):
            tag, _, rest = rest.partition(" ")
            rest = rest.strip()
        if rest.startswith("&") or rest.startswith("*"):
            raise YAMLError(f"line {self.i + 1}: anchors and aliases are not supported")
        if not rest or rest.startswith("#"):
            self.i += 1
            if self.skip():
                nxt = self.lines[self.i].strip()
                if self.indent() > ind:
                    v = self.block(ind + 1)
                    return _tagged(tag, v, True) if tag and isinstance(v, str) else v
                if self.indent() == ind and (nxt == "-" or nxt.startswith("- ")):
                    return self.sequence(ind)
            return _tagged(tag, "", False) if tag else None
        if rest[0] in "|>":
            return self.block_scalar(ind, rest)
        if rest == "-" or rest.startswith("- "):
            raise YAMLError(f"line {self.i + 1}: block sequence entries are not allowed in "
                            f"this context")
        if rest[0] in "[{\"'":
            return self.flow_lines(ind, rest, tag)
        return self.scalar_lines(ind, rest, tag)

    def flow_lines(self, ind, rest, tag):
        text = rest
        start = self.i
        while True:
            p = _Flow(text)
            try:
                v = p.value()
                p.ws()
                if p.i < len(p.s):
                    raise YAMLError(f"line {start + 1}: unexpected text after value: {p.s[p.i:]!r}")
                self.i += 1
                if isinstance(v, str) and tag:
                    return _tagged(tag, v, True)
                return v
            except (YAMLError, IndexError) as e:
                if "unexpected text" in str(e) or self.i + 1 >= len(self.lines):
                    raise YAMLError(f"line {start + 1}: {e}") from None
                self.i += 1
                text += "\n" + self.lines[self.i]

    def scalar_lines(self, ind, rest, tag=None):
        parts = [_strip_comment(rest)]
        ended = rest != parts[0]
        self.i += 1
        while not ended and self.i < len(self.lines):
            ln = self.lines[self.i]
            s = ln.strip()
            if not s:
                j = self.i
                while j < len(self.lines) and not self.lines[j].strip():
                    j += 1
                if j < len(self.lines) and self.indent(j) > ind and \
                        not self.lines[j].strip().startswith("#"):
                    parts.append("\n" * (j - self.i))
                    self.i = j
                    continue
                break
            if self.indent() <= ind or s.startswith("#") or _KEYLINE.match(s) or s == "---":
                break
            frag = _strip_comment(s)
            parts.append(frag)
            self.i += 1
            if frag != s:
                break
        text = ""
        for p in parts:
            if p.startswith("\n"):
                text += p
            elif text and not text.endswith("\n"):
                text += " " + p
            else:
                text += p
        return _tagged(tag, text, False)

    def block_scalar(self, ind, header):
        header = _strip_comment(header)
        m = re.fullmatch(r"([|>])([-+]?)([1-9]?)([-+]?)", header)
        if not m:
            raise YAMLError(f"line {self.i + 1}: bad block scalar header {header!r}")
        style, chomp, explicit = m.group(1), m.group(2) or m.group(4), m.group(3)
        self.i += 1
        lines = []
        block_ind = ind + int(explicit) if explicit else None
        while self.i < len(self.lines):
            ln = self.lines[self.i]
            if not ln.strip():
                lines.append("")
                self.i += 1
                continue
            li = len(ln) - len(ln.lstrip(" "))
            if block_ind is None:
                if li <= ind:
                    break
                block_ind = li
            if li < block_ind:
                break
            lines.append(ln[block_ind:])
            self.i += 1
        # Trailing blank lines belong to the scalar only for chomping.
        trailing = 0
        while lines and lines[-1] == "":
            lines.pop()
            trailing += 1
        if style == "|":
            body = "\n".join(lines)
        else:
            body = ""
            prev_more = False
            for k, ln in enumerate(lines):
                more = ln.startswith(" ") or ln.startswith("\t")
                if k == 0:
                    body = ln
                elif ln == "":
                    body += "\n"
                elif lines[k - 1] == "":
                    body += ("\n" if more or prev_more else "") + ln
                elif more or prev_more:
                    body += "\n" + ln
                else:
                    body += " " + ln
                if ln != "":
                    prev_more = more
        if not lines:
            return "" if chomp != "+" else "\n" * trailing
        if chomp == "-":
            return body
        if chomp == "+":
            return body + "\n" + "\n" * trailing
        return body + "\n"


def load_all(text):
    """Parses a YAML (or JSON) stream into a list of documents, skipping empty ones."""
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    stripped = text.strip()
    if stripped.startswith("{") or stripped.startswith("["):
        try:
            return [json.loads(stripped)]
        except ValueError:
            pass
    docs = []
    cur = []
    for ln in text.split("\n"):
        if re.match(r"^---(\s|$)", ln) or re.match(r"^\.\.\.(\s|$)", ln):
            docs.append(cur)
            rest = ln[3:].strip()
            cur = [rest] if rest and not rest.startswith("#") else []
            continue
        if ln.startswith("%"):
            continue
        cur.append(ln)
    docs.append(cur)
    out = []
    for lines in docs:
        p = _Parser(lines)
        v = p.block(0)
        if p.skip():
            raise YAMLError(f"unexpected content: {p.lines[p.i].strip()!r}")
        if v is not None:
            out.append(v)
    return out


def load(text):
    docs = load_all(text)
    if len(docs) > 1:
        raise YAMLError("expected a single document")
    return docs[0] if docs else None
