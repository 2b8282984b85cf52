"""The documentation keeps up with the code.

- docs/configuration.md names every TOML key the config loader binds (read from the binder
  tables of runner/config/config.cc, and checked against the loader itself: every key found there
  and every key the page documents is accepted by the real loader, and an invented one is not) and
  every flag each executable registers (read from `<executable> --help` of the built executables,
  which lists every flag, common ones in their own group).
- Every Markdown file links only to files inside the repository, and every `#anchor` used exists;
  README.md and docs/*.md name no path outside it; the `runbook_url` of every alert rule names a
  heading of README.md.
"""
import glob
import os
import re
import subprocess
import tempfile
import unittest

from cairn_test_support import BUILD, SOURCE

CONFIG_DOC = os.path.join(SOURCE, "docs", "configuration.md")
CONFIG_CC = os.path.join(SOURCE, "runner", "config", "config.cc")
RESTORE_POLICY_CC = os.path.join(SOURCE, "runner", "config", "restore_policy.cc")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- the code ------------------------------------------------------------------------------

def executables():
    """Every executable with a FlagSet in runner/main: {name: main file}."""
    found = {}
    for path in sorted(glob.glob(os.path.join(SOURCE, "runner", "main", "*.cc"))):
        for name in re.findall(r'FlagSet\s+flags\(\s*"([a-z0-9-]+)"', read(path)):
            found[name] = path
    return found


def help_groups(name):
    """{group title: [flag names]} from `name --help`."""
    exe = os.path.join(BUILD, "bin", name)
    if not os.path.exists(exe):
        raise AssertionError(f"{exe} is not built")
    proc = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=30)
    if proc.returncode != 0:
        raise AssertionError(f"{name} --help exited {proc.returncode}: {proc.stderr}")
    groups, current = {}, None
    for line in proc.stdout.splitlines():
        if re.fullmatch(r"\S.* flags:", line):
            current = line[:-1]
            groups[current] = []
        elif current and (m := re.match(r"  --([a-z0-9][a-z0-9-]*)", line)):
            groups[current].append(m.group(1))
    return groups


def split_entries(body):
    """The top-level, comma-separated entries of a C++ initializer list body."""
    entries, depth, start, i = [], 0, 0, 0
    while i < len(body):
        c = body[i]
        if c == '"':
            i += 1
            while body[i] != '"':
                i += 2 if body[i] == "\\" else 1
        elif c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif c == "," and depth == 0:
            entries.append(body[start:i].strip())
            start = i + 1
        i += 1
    if body[start:].strip():
        entries.append(body[start:].strip())
    return entries


def fields_body(source, function):
    """The initializer list of `const std::vector<Field<T>>& function() {... new ...{ BODY };`."""
    m = re.search(r"&\s*" + function + r"\(\)\s*\{.*?new\s+std::vector<Field<[\w:]+>>\s*\{(.*?)\};",
                  source, re.S)
    if not m:
        raise AssertionError(f"config.cc: cannot find the field table {function}()")
    return m.group(1)


def mapping_keys():
    """MappingKind enumerator -> key, from MappingKey() in restore_policy.cc."""
    src = read(RESTORE_POLICY_CC)
    m = re.search(r"std::string_view MappingKey\(MappingKind kind\)\s*\{(.*?)\n\}", src, re.S)
    if not m:
        raise AssertionError("restore_policy.cc: cannot find MappingKey()")
    return dict(re.findall(r"case MappingKind::(k\w+):\s*return \"([a-z_]+)\"", m.group(1)))


def entry_key(source, entry, mappings):
    entry = " ".join(entry.split())
    for pattern in (r'^\{\s*"([a-z_]+)"', r'^\w+Field\(\s*"([a-z_]+)"'):
        if m := re.match(pattern, entry):
            return m.group(1)
    if m := re.match(r"^MappingField\(\s*MappingKind::(k\w+)", entry):
        return mappings[m.group(1)]
    if m := re.fullmatch(r"(\w+)\(\)", entry):  # a factory of one field: return {"key", ...}
        d = re.search(r"Field<\w+>\s+" + m.group(1) + r"\(\)\s*\{\s*return\s*\{\s*\"([a-z_]+)\"",
                      source)
        if d:
            return d.group(1)
    raise AssertionError(f"config.cc: cannot tell the key of field entry '{entry}'; teach "
                         "tests/integration/docs_test.py this form")


def code_keys(named=None):
    """{table: set of keys}: "defaults", "vaults" (for [vaults.NAME]), ... from RootFields().
    The names of the tables of named tables ([vaults.NAME]) are added to `named`."""
    source = read(CONFIG_CC)
    mappings = mapping_keys()
    tables = {}
    for entry in split_entries(fields_body(source, "RootFields")):
        m = re.match(r'(SectionField|NamedTablesField)\(\s*"([a-z_]+)"\s*,[^,]*,\s*&(\w+)\(\)',
                     " ".join(entry.split()))
        if not m:
            raise AssertionError(f"config.cc: cannot read root entry '{entry}'")
        if m.group(1) == "NamedTablesField" and named is not None:
            named.add(m.group(2))
        body = fields_body(source, m.group(3))
        tables[m.group(2)] = {entry_key(source, e, mappings) for e in split_entries(body)}
    return tables


# --- the page ------------------------------------------------------------------------------

def sections(text, level):
    """{heading text: body} for the headings of exactly `level` '#'s."""
    out, current = {}, None
    for line in text.splitlines():
        m = re.match(r"(#+) (.*)", line)
        if m and len(m.group(1)) <= level:
            current = m.group(2).strip() if len(m.group(1)) == level else None
            if current is not None:
                out[current] = ""
            continue
        if current is not None:
            out[current] += line + "\n"
    return out


def doc_keys(text, named=None):
    """{table: set of keys} from the tables under `## [table]` / `## [table.NAME]` headings;
    the tables written `[table.NAME]` are added to `named`."""
    out = {}
    for heading, body in sections(text, 2).items():
        m = re.fullmatch(r"`\[([a-z_]+)(\.NAME)?\]`", heading)
        if m:
            out[m.group(1)] = set(re.findall(r"^\| `([a-z_]+)` \|", body, re.M))
            if m.group(2) and named is not None:
                named.add(m.group(1))
    return out


def doc_flags(body):
    return set(re.findall(r"^\| `--([a-z0-9][a-z0-9-]*)", body, re.M))


def slug(heading):
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    in_code = False
    for line in read(path).splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        m = re.match(r"#{1,6} (.*)", line)
        if m:
            s = slug(m.group(1))
            n = seen.get(s, 0)
            out.add(s if n == 0 else f"{s}-{n}")
            seen[s] = n + 1
    return out


# --- the tests -----------------------------------------------------------------------------

class ConfigurationReference(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.doc = read(CONFIG_DOC)

    def test_every_key_of_the_loader_is_documented(self):
        documented = doc_keys(self.doc)
        for table, keys in code_keys().items():
            with self.subTest(table=table):
                self.assertIn(table, documented,
                              f"docs/configuration.md has no section for [{table}]")
                missing = sorted(keys - documented[table])
                self.assertEqual(missing, [], f"[{table}] keys bound in runner/config/config.cc "
                                 "but missing from docs/configuration.md")

    def test_keys_found_and_documented_are_what_the_loader_accepts(self):
        # The extraction above and the page are checked against the real loader: every key is
        # accepted as a key (its value is deliberately of no type any key takes, so every key
        # gets an error, but never "unknown key"), and an invented key is refused. The loader
        # prints the first 20 problems, so the keys go ten at a time.
        named, named_in_doc = set(), set()
        code, documented = code_keys(named), doc_keys(self.doc, named_in_doc)
        self.assertEqual(named_in_doc & set(code), named, "[table.NAME] headings of the page")
        for table in sorted(set(code) | set(documented)):
            keys = sorted(code.get(table, set()) | documented.get(table, set()))
            header = f"[{table}.x]" if table in named | named_in_doc else f"[{table}]"
            for i in range(0, len(keys), 10):
                chunk = keys[i:i + 10] + ["no_such_key_in_cairn"]
                with self.subTest(table=table, keys=chunk):
                    unknown = self.unknown_keys(
                        [header] + [f"{k} = 1970-01-01T00:00:00Z" for k in chunk])
                    self.assertEqual(unknown, [f"{header[1:-1]}.no_such_key_in_cairn"])

    def unknown_keys(self, lines):
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
            f.write("\n".join(lines) + "\n")
        try:
            proc = subprocess.run(
                [os.path.join(BUILD, "bin", "vault-check"), "--config", f.name,
                 "--url", "file:///nonexistent-docs-test"],
                capture_output=True, text=True, timeout=30)
        finally:
            os.unlink(f.name)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertNotIn("more errors", proc.stderr)
        return re.findall(r"unknown key '([^']+)'", proc.stderr)

    def test_every_flag_of_every_executable_is_documented(self):
        exes = executables()
        self.assertTrue({"vault-check", "backup-run", "restore-run", "gc"} <= set(exes), exes)
        flags = sections(self.doc, 3)
        self.assertIn("Common flags", flags)
        for name in exes:
            groups = help_groups(name)
            with self.subTest(executable=name):
                self.assertIn("common flags", groups)
                self.assertIn(f"{name} flags", groups)
                missing = sorted(set(groups["common flags"]) - doc_flags(flags["Common flags"]))
                self.assertEqual(missing, [], "common flags missing from docs/configuration.md")
                own = flags.get(f"`{name}`")
                self.assertIsNotNone(own, f"docs/configuration.md has no '### `{name}`' section")
                missing = sorted(set(groups[f"{name} flags"]) - doc_flags(own))
                self.assertEqual(missing, [],
                                 f"{name} flags missing from its section of docs/configuration.md")

    def test_documented_flags_exist(self):
        flags = sections(self.doc, 3)
        common = set(help_groups("vault-check")["common flags"])
        self.assertEqual(sorted(doc_flags(flags["Common flags"]) - common), [])
        for name in executables():
            own = set(help_groups(name)[f"{name} flags"])
            self.assertEqual(sorted(doc_flags(flags.get(f"`{name}`", "")) - own), [], name)


class Links(unittest.TestCase):
    def pages(self):
        return [os.path.join(SOURCE, "README.md")] + sorted(
            glob.glob(os.path.join(SOURCE, "docs", "*.md")))

    def every_page(self):
        """Every Markdown file of the repository (module READMEs, FORMAT.md, ...)."""
        out = []
        for dirpath, dirs, files in os.walk(SOURCE):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "build"]
            out += [os.path.join(dirpath, f) for f in files if f.endswith(".md")]
        return sorted(out)

    def test_links_stay_inside_the_repository_and_resolve(self):
        for page in self.every_page():
            text = re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", read(page), flags=re.S))
            for target in re.findall(r"\]\(([^)\s]+)\)", text):
                if re.match(r"[a-z]+:", target):
                    continue  # http(s), mailto: outside links are fine
                with self.subTest(page=os.path.relpath(page, SOURCE), link=target):
                    path, _, anchor = target.partition("#")
                    self.assertFalse(path.startswith("/"), "absolute path")
                    full = page
                    if path:
                        full = os.path.normpath(os.path.join(os.path.dirname(page), path))
                    self.assertTrue(full.startswith(SOURCE + os.sep),
                                    "points outside the repository")
                    self.assertTrue(os.path.exists(full), "no such file")
                    if anchor and full.endswith(".md"):
                        self.assertIn(anchor, anchors(full), "no such heading")

    def test_no_path_outside_the_repository_is_named(self):
        for page in self.pages():
            text = read(page)
            with self.subTest(page=os.path.relpath(page, SOURCE)):
                found = re.findall(r".*(?:\.\./shared|/work/|ARCHITECTURE\.md).*", text)
                self.assertEqual(found, [], "names a path outside the repository")

    def test_every_runbook_url_names_a_readme_heading(self):
        readme = anchors(os.path.join(SOURCE, "README.md"))
        urls = []
        for rules in glob.glob(os.path.join(SOURCE, "config", "prometheus", "*.y*ml")):
            urls += re.findall(r'runbook_url:\s*"?README\.md#([\w-]+)', read(rules))
        self.assertGreaterEqual(len(set(urls)), 8, urls)
        for anchor in sorted(set(urls)):
            with self.subTest(anchor=anchor):
                self.assertIn(anchor, readme)

    def test_slugs_are_githubs(self):
        self.assertEqual(slug("backup partially failed"), "backup-partially-failed")
        self.assertEqual(slug("Run stuck in `InProgress`"), "run-stuck-in-inprogress")
        self.assertEqual(slug("`[vaults.NAME]`"), "vaultsname")
        self.assertEqual(slug("Completed, but something is missing"),
                         "completed-but-something-is-missing")


if __name__ == "__main__":
    unittest.main()
