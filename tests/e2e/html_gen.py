"""Random ASCII HTML documents for the HTML normaliser comparison with clamscan
(html_targets_test.py): tags in any case, attributes quoted, unquoted, bare
or with references, comments, scripts and styles, character references,
white space of every kind, and documents long enough to cross clamscan's
8 KiB read chunks."""

import random

WORDS = ["Hello", "world", "VIRUS", "payload", "Click", "here", "a", "B", "x1", "eval", "document",
         "write", "unescape", "%u9090", "fromCharCode", "0x41", "if", "then", "else"]
TAGS = ["p", "P", "div", "DIV", "span", "b", "I", "table", "TR", "td", "font", "FORM", "input", "br", "hr",
        "iframe", "IFRAME", "object", "embed", "meta", "link", "body", "BODY", "head", "title", "center"]
ATTRS = ["id", "class", "STYLE", "width", "Height", "src", "name", "value", "onload", "onClick", "type",
         "align", "BGCOLOR", "content", "http-equiv"]
SPACES = [" ", "  ", "\t", "\n", "\r\n", "\n\n   ", " \t ", "\x0b", "\x0c"]
REFS = ["&amp;", "&lt;", "&gt;", "&quot;", "&#65;", "&#x42;", "&#97;", "&#X4a;", "&AMP;", "&bogus;",
        "&amp", "&#1234;", "&#x263a;", "& ", "&&"]


def word(r):
    return r.choice(WORDS)


def value(r):
    kind = r.random()
    v = " ".join(word(r) for _ in range(r.randint(1, 3)))
    if kind < 0.2:
        v = v.replace(" ", r.choice(["\n", " \n ", "  "]))
    if kind > 0.8:
        v += r.choice(REFS[:7])
    return v


def attribute(r):
    name = r.choice(ATTRS)
    k = r.random()
    if k < 0.15:
        return name
    eq = r.choice(["=", "=", " = ", "= ", " ="])
    if k < 0.4:
        return name + eq + r.choice(WORDS) + r.choice(["", "&amp;q=1", "%20x"])
    q = r.choice(["\"", "'"])
    v = value(r).replace(q, "")
    return name + eq + q + v + q


def tag(r):
    name = r.choice(TAGS)
    if r.random() < 0.3:
        return "</" + name + r.choice(["", " "]) + ">"
    attrs = [attribute(r) for _ in range(r.randint(0, 3))]
    s = "<" + name
    for a in attrs:
        s += r.choice([" ", " ", "  ", "\n"]) + a
    s += r.choice(["", "", " ", " /", "/"]) + ">"
    return s


def script(r):
    body = r.choice([
        "var {v} = '{w}  {w}';", "document.write( \"<b>{w}</b>\" );", "if (a < b) {{ x = {w}; }}",
        "eval(unescape('%41%42'));", "x  =  1 ;\n  y = 2;", "s = String.fromCharCode( 65, 66 );"])
    body = body.format(v=word(r).lower(), w=word(r))
    t = r.choice(["script", "SCRIPT", "Script", "style", "STYLE"])
    open_tag = "<" + t + r.choice(["", " type=\"text/javascript\"", " language=JavaScript"]) + ">"
    return open_tag + body + "</" + t + ">"


def piece(r, scripts=True):
    k = r.random()
    if k < 0.30:
        return word(r)
    if k < 0.50:
        return r.choice(SPACES)
    if k < 0.72:
        return tag(r)
    if k < 0.77:
        return "<!--" + r.choice([" note ", "", " a > b ", "-x-"]) + "-->"
    if k < 0.82:
        return r.choice(REFS)
    if k < 0.87:
        # clamscan loses the rest of a document when one of its 8 KiB read
        # chunks ends inside a script or style: long documents have none.
        return script(r) if scripts else word(r)
    if k < 0.90:
        return "<a href=\"" + r.choice(["http://Example.com/X", "#top", "mailto:a@b.c"]) + "\">" + word(r) + "</a>"
    if k < 0.93:
        return "<img src=\"" + r.choice(["pic.PNG", "data:image/png;base64,QUJD", "/i/x.gif"]) + "\" alt=" + word(r) + ">"
    if k < 0.95:
        return "<!DOCTYPE html>"
    return r.choice(["x < y", "a > b", "< p>", "<>"])


def document(r, size):
    start = r.choice(["<html>", "<HTML>", "<Html>", "<html>\n<head>", "<!DOCTYPE html>\n<html>", "<table>", ""])
    s = start
    while len(s) < size:
        s += piece(r, scripts=size <= 8000)
    if start == "":
        s += "<script>x</script>"
    return s.encode()


def documents(seed, count):
    r = random.Random(seed)
    out = []
    for i in range(count):
        size = r.choice([40, 200, 1000, 3000]) if i % 8 else r.choice([9000, 20000, 30000])
        out.append(document(r, size))
    return out
