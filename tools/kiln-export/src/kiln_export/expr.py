"""Feature expressions (docs/expressions.md) in Python: the same grammar, checks and IEEE
semantics as the engine (native/engine/src/expr_*.cc).

The exporter uses it to check a user's expression before writing it (syntax, names, types), to
compare it with the Python function it stands for, and the reference interpreter
(:mod:`kiln_export.evaluate`) uses it to run the ``expressions`` step.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

MAX_CHARS = 16384   # spec_limits.h kMaxExprChars
MAX_DEPTH = 64      # spec_limits.h kMaxExprDepth

FUNCS = {  # name -> (min args, max args or None)
    "if": (3, 3), "min": (2, None), "max": (2, None), "clip": (3, 3), "log": (1, 1),
    "log1p": (1, 1), "exp": (1, 1), "sqrt": (1, 1), "abs": (1, 1), "square": (1, 1),
    "pow": (2, 2), "is_null": (1, 1), "coalesce": (2, None),
}
_KEYWORDS = {"and", "or", "not", "in"}
_COMPARE = {"==", "!=", "<", "<=", ">", ">="}


class ExprError(ValueError):
    """A malformed expression, an unknown name or a type error (the engine's KILN_MODEL_INVALID),
    or a limit (KILN_MODEL_LIMIT, ``limit`` set)."""

    def __init__(self, pos: int, what: str, limit: bool = False):
        super().__init__(f"at character {pos}: {what}" if pos else what)
        self.limit = limit


@dataclasses.dataclass
class Node:
    kind: str                 # num | str | col | neg | not | chain | cmp | in | call
    pos: int
    value: object = None      # num: float; str: text; col: name (str) or index (int); call: name
    ops: List[str] = dataclasses.field(default_factory=list)
    kids: List["Node"] = dataclasses.field(default_factory=list)
    negated: bool = False


# --------------------------------------------------------------------------- lexer

@dataclasses.dataclass
class _Tok:
    t: str        # end num str name pos op ( ) , and or not in
    pos: int
    value: object = None
    quoted: bool = False


def _is_ident_start(c: str) -> bool:
    return ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_"


def _tokens(src: str) -> List[_Tok]:
    out, i, n = [], 0, len(src)
    while True:
        while i < n and src[i] in " \t\n\r":
            i += 1
        pos = i + 1
        if i >= n:
            out.append(_Tok("end", pos))
            return out
        c = src[i]
        if c.isascii() and c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isascii() and src[i + 1].isdigit()):
            j = i
            while j < n and "0" <= src[j] <= "9":
                j += 1
            if j < n and src[j] == ".":
                j += 1
                while j < n and "0" <= src[j] <= "9":
                    j += 1
            if j < n and src[j] in "eE":
                k = j + 1
                if k < n and src[k] in "+-":
                    k += 1
                if k >= n or not ("0" <= src[k] <= "9"):
                    raise ExprError(j + 1, "malformed number exponent")
                while k < n and "0" <= src[k] <= "9":
                    k += 1
                j = k
            if j < n and (_is_ident_start(src[j]) or src[j] == "."):
                raise ExprError(j + 1, "malformed number")
            v = float(src[i:j])
            if v == float("inf"):
                raise ExprError(pos, "number out of range")
            out.append(_Tok("num", pos, v))
            i = j
            continue
        if _is_ident_start(c):
            j = i
            while j < n and (_is_ident_start(src[j]) or "0" <= src[j] <= "9"):
                j += 1
            word = src[i:j]
            out.append(_Tok(word, pos) if word in _KEYWORDS else _Tok("name", pos, word))
            i = j
            continue
        if c in "\"'`":
            text, j = [], i + 1
            while True:
                if j >= n:
                    raise ExprError(pos, "unterminated `name`" if c == "`" else "unterminated string")
                d = src[j]
                if d == c:
                    break
                if d == "\\":
                    if j + 1 >= n or src[j + 1] not in "\\\"'`":
                        raise ExprError(j + 1, "unknown escape (only \\\\, \\\", \\' and \\` are allowed)")
                    text.append(src[j + 1])
                    j += 2
                    continue
                text.append(d)
                j += 1
            if c == "`" and not text:
                raise ExprError(pos, "empty `name`")
            out.append(_Tok("name" if c == "`" else "str", pos, "".join(text), quoted=c == "`"))
            i = j + 1
            continue
        if c == "$":
            j = i + 1
            if j >= n or not ("0" <= src[j] <= "9"):
                raise ExprError(pos, "expected a column number after '$'")
            v = 0
            while j < n and "0" <= src[j] <= "9":
                if v > 100000000:
                    raise ExprError(pos, "column number too large")
                v = v * 10 + int(src[j])
                j += 1
            out.append(_Tok("pos", pos, v))
            i = j
            continue
        two = src[i:i + 2]
        if two in ("==", "!=", "<=", ">="):
            out.append(_Tok("op", pos, two))
            i += 2
            continue
        if c in "<>+-*/":
            out.append(_Tok("op", pos, c))
        elif c in "(),":
            out.append(_Tok(c, pos))
        elif c == "=":
            raise ExprError(pos, "'=' is not an operator (compare with '==')")
        elif " " <= c <= "~":
            raise ExprError(pos, f"unexpected character '{c}'")
        else:
            raise ExprError(pos, "unexpected character (quote names with `...`)")
        i += 1


def _describe(t: _Tok) -> str:
    if t.t == "end":
        return "end of expression"
    if t.t == "num":
        return "number"
    if t.t == "str":
        return f'string "{t.value}"'
    if t.t == "name":
        return f"name '{t.value}'"
    if t.t == "pos":
        return f"column ${t.value}"
    if t.t == "op":
        return f"'{t.value}'"
    return f"'{t.t}'"


# --------------------------------------------------------------------------- parser

class _Parser:
    def __init__(self, src: str):
        self.toks = _tokens(src)
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def next(self):
        self.i += 1

    def expect(self, t: str, what: str):
        if self.tok.t != t:
            raise ExprError(self.tok.pos, f"expected {what} but found {_describe(self.tok)}")
        self.next()

    def nest(self, pos: int):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprError(pos, f"the expression nests deeper than the limit of {MAX_DEPTH} "
                                 "(parentheses, calls and unary operators)", limit=True)

    def parse(self) -> Node:
        e = self.or_()
        if self.tok.t != "end":
            raise ExprError(self.tok.pos, f"unexpected {_describe(self.tok)} after a complete expression")
        return e

    def chain(self, sub: Callable[[], Node], match: Callable[[_Tok], Optional[str]]) -> Node:
        first = sub()
        if match(self.tok) is None:
            return first
        node = Node("chain", first.pos, kids=[first])
        while (op := match(self.tok)) is not None:
            self.next()
            node.ops.append(op)
            node.kids.append(sub())
        return node

    def or_(self):
        return self.chain(self.and_, lambda t: "or" if t.t == "or" else None)

    def and_(self):
        return self.chain(self.not_, lambda t: "and" if t.t == "and" else None)

    def not_(self):
        if self.tok.t != "not":
            return self.compare()
        pos = self.tok.pos
        self.nest(pos)
        self.next()
        node = Node("not", pos, kids=[self.not_()])
        self.depth -= 1
        return node

    def _chained(self) -> bool:
        t = self.tok
        return (t.t == "op" and t.value in _COMPARE) or t.t in ("in", "not")

    def compare(self):
        left = self.sum_()
        t = self.tok
        if t.t == "op" and t.value in _COMPARE:
            self.next()
            node = Node("cmp", left.pos, ops=[t.value], kids=[left, self.sum_()])
            if self._chained():
                raise ExprError(self.tok.pos, "comparisons cannot be chained (write (a < b) and (b < c))")
            return node
        negated, pos = False, self.tok.pos
        if self.tok.t == "not":
            self.next()
            if self.tok.t != "in":
                raise ExprError(self.tok.pos, f"expected 'in' after 'not' but found {_describe(self.tok)}")
            negated = True
        if self.tok.t != "in":
            return left
        self.nest(pos)
        self.next()
        node = Node("in", pos, kids=[left], negated=negated)
        self.expect("(", "'(' after 'in'")
        while True:
            node.kids.append(self.literal())
            if self.tok.t == ",":
                self.next()
                if self.tok.t == ")":
                    break
                continue
            break
        self.expect(")", "',' or ')' in the 'in' list")
        if self._chained():
            raise ExprError(self.tok.pos, "comparisons cannot be chained")
        self.depth -= 1
        return node

    def literal(self):
        t = self.tok
        if t.t == "str":
            self.next()
            return Node("str", t.pos, t.value)
        neg = False
        if t.t == "op" and t.value == "-":
            neg = True
            self.next()
        if self.tok.t != "num":
            raise ExprError(self.tok.pos, "expected a string or a number in the 'in' list but found "
                                          + _describe(self.tok))
        v = self.tok.value
        self.next()
        return Node("num", t.pos, -v if neg else v)

    def sum_(self):
        return self.chain(self.product, lambda t: t.value if t.t == "op" and t.value in "+-" else None)

    def product(self):
        return self.chain(self.unary, lambda t: t.value if t.t == "op" and t.value in "*/" else None)

    def unary(self):
        t = self.tok
        if t.t == "op" and t.value in "+-":
            self.nest(t.pos)
            self.next()
            operand = self.unary()
            self.depth -= 1
            return operand if t.value == "+" else Node("neg", t.pos, kids=[operand])
        return self.primary()

    def primary(self):
        t = self.tok
        if t.t == "num":
            self.next()
            return Node("num", t.pos, t.value)
        if t.t == "str":
            self.next()
            return Node("str", t.pos, t.value)
        if t.t == "pos":
            self.next()
            return Node("col", t.pos, int(t.value))
        if t.t == "name":
            self.next()
            if self.tok.t != "(" or t.quoted:
                return Node("col", t.pos, t.value)
            self.nest(t.pos)
            self.next()
            node = Node("call", t.pos, t.value)
            if self.tok.t != ")":
                while True:
                    node.kids.append(self.or_())
                    if self.tok.t != ",":
                        break
                    self.next()
            self.expect(")", "',' or ')' after a function argument")
            self.depth -= 1
            return node
        if t.t == "(":
            self.nest(t.pos)
            self.next()
            e = self.or_()
            self.expect(")", "')'")
            self.depth -= 1
            return e
        raise ExprError(t.pos, "expected a number, a column, a function call or '(' but found " + _describe(t))


def parse(src: str) -> Node:
    if len(src.encode("utf-8")) > MAX_CHARS:
        raise ExprError(0, f"the expression is {len(src.encode('utf-8'))} characters long, more than the "
                           f"limit of {MAX_CHARS}", limit=True)
    return _Parser(src).parse()


# --------------------------------------------------------------------------- checking + evaluation

Row = Sequence[object]   # the frame's values: floats (NaN = missing) or str / None (string columns)
_Fn = Callable[[Row], object]

_NAN = np.float64("nan")


def _truth(v) -> bool:
    return bool(v != 0.0)   # NaN is true (bool(nan), np.where)


def _b(v: bool) -> np.float64:
    return np.float64(1.0 if v else 0.0)


def _minimum(a, b):
    return np.minimum(np.float64(a), np.float64(b))


def _maximum(a, b):
    return np.maximum(np.float64(a), np.float64(b))


_UNARY = {"log": np.log, "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs,
          "square": lambda x: x * x, "is_null": lambda x: _b(bool(np.isnan(x)))}
_BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "==": lambda a, b: _b(a == b), "!=": lambda a, b: _b(a != b), "<": lambda a, b: _b(a < b),
    "<=": lambda a, b: _b(a <= b), ">": lambda a, b: _b(a > b), ">=": lambda a, b: _b(a >= b),
    "and": lambda a, b: _b(_truth(a) and _truth(b)), "or": lambda a, b: _b(_truth(a) or _truth(b)),
    "min": _minimum, "max": _maximum, "pow": lambda a, b: np.power(a, b),
    "coalesce": lambda a, b: b if np.isnan(a) else a,
}


def _num(v) -> np.float64:
    return _NAN if v is None else np.float64(v)


class Compiled:
    """One checked expression over a frame; ``eval(row)`` -> float with the engine's semantics."""

    def __init__(self, src: str, fn: _Fn, used: Dict[int, str], strings: Dict[int, List[str]]):
        self.src = src
        self._fn = fn
        self.used = used          # column index -> "number" | "string"
        self.strings = strings    # string column index -> literals compared with it

    def eval(self, row: Row) -> float:
        with np.errstate(all="ignore"):
            return float(self._fn(row))


class _Checker:
    def __init__(self, names: Sequence[Optional[str]], kinds: Sequence[str], named: bool):
        self.kinds = list(kinds)
        self.by_name: Dict[str, int] = {}
        if named:
            for j, n in enumerate(names):
                if n is not None:
                    self.by_name.setdefault(n, j)
        self.used: Dict[int, str] = {}
        self.strings: Dict[int, List[str]] = {}

    def column(self, node: Node) -> int:
        if isinstance(node.value, int):
            if node.value >= len(self.kinds):
                raise ExprError(node.pos, f"column ${node.value} does not exist (the frame this step "
                                          f"receives has {len(self.kinds)} columns)")
            return node.value
        if node.value not in self.by_name:
            if not self.by_name:
                hint = (" (the columns of the frame this step receives have no names; refer to them as "
                        f"$0..${max(len(self.kinds) - 1, 0)})")
            else:
                known = sorted(self.by_name, key=self.by_name.get)
                hint = " (known: " + ", ".join(known[:20]) + (", ..." if len(known) > 20 else "") + ")"
            raise ExprError(node.pos, f"unknown column '{node.value}'{hint}")
        return self.by_name[node.value]

    @staticmethod
    def label(node: Node) -> str:
        return f"${node.value}" if isinstance(node.value, int) else f"'{node.value}'"

    def use(self, j: int, kind: str, node: Node) -> None:
        have = self.used.get(j) or (self.kinds[j] if self.kinds[j] in ("number", "string") else None)
        if have is not None and have != kind:
            if have == "string":
                raise ExprError(node.pos, f"column {self.label(node)} is a string category column; it can "
                                          "only be compared with strings (==, !=, in) or tested with is_null()")
            raise ExprError(node.pos, f"column {self.label(node)} is numeric; compare it with numbers")
        self.used[j] = kind

    def string_column(self, node: Node) -> Optional[int]:
        """Index of a column that is (or, untyped, will be) a string category column here."""
        if node.kind != "col":
            return None
        j = self.column(node)
        kind = self.used.get(j) or self.kinds[j]
        return j if kind == "string" else None

    def literal_string(self, j: int, text: str) -> None:
        lst = self.strings.setdefault(j, [])
        if text not in lst:
            lst.append(text)

    def number(self, node: Node) -> _Fn:
        k = node.kind
        if k == "num":
            v = np.float64(node.value)
            return lambda row: v
        if k == "str":
            raise ExprError(node.pos, f'the string "{node.value}" is not a number; strings can only be '
                                      "compared with a string category column (==, !=, in)")
        if k == "col":
            j = self.column(node)
            self.use(j, "number", node)
            return lambda row: _num(row[j])
        if k == "neg":
            f = self.number(node.kids[0])
            return lambda row: -f(row)
        if k == "not":
            f = self.number(node.kids[0])
            return lambda row: _b(f(row) == 0.0)
        if k == "chain":
            fns = [self.number(c) for c in node.kids]
            ops = [_BINARY[o] for o in node.ops]

            def chain(row, fns=fns, ops=ops):
                acc = fns[0](row)
                for op, f in zip(ops, fns[1:]):
                    acc = op(acc, f(row))
                return acc
            return chain
        if k == "cmp":
            return self.compare(node)
        if k == "in":
            return self.member(node)
        return self.call(node)

    def compare(self, node: Node) -> _Fn:
        left, right = node.kids
        op = node.ops[0]
        # an untyped column compared with a string literal is a string column
        for a, b in ((left, right), (right, left)):
            if a.kind == "col" and b.kind == "str":
                j = self.column(a)
                if self.used.get(j) is None and self.kinds[j] not in ("number", "string"):
                    self.use(j, "string", a)
        ls, rs = self.string_column(left), self.string_column(right)
        lstr = ls is not None or left.kind == "str"
        rstr = rs is not None or right.kind == "str"
        if not lstr and not rstr:
            fa, fb, fop = self.number(left), self.number(right), _BINARY[op]
            return lambda row: fop(fa(row), fb(row))
        if op not in ("==", "!="):
            raise ExprError(node.pos, "strings can only be compared with == and != (or in)")
        if ls is not None and rs is not None:
            raise ExprError(node.pos, "two string category columns cannot be compared with each other")
        if ls is None and rs is None:
            raise ExprError(node.pos, "two strings are compared; one side must be a string category column")
        j, col, other = (ls, left, right) if ls is not None else (rs, right, left)
        if other.kind != "str":
            raise ExprError(node.pos, f"column {self.label(col)} is a string category column; compare it "
                                      "with a string literal")
        self.use(j, "string", col)
        self.literal_string(j, other.value)
        text, eq = other.value, op == "=="
        return lambda row: _b((isinstance(row[j], str) and row[j] == text) == eq)

    def member(self, node: Node) -> _Fn:
        x, lits = node.kids[0], node.kids[1:]
        if x.kind == "col" and all(lit.kind == "str" for lit in lits):
            j = self.column(x)
            if self.used.get(j) is None and self.kinds[j] not in ("number", "string"):
                self.use(j, "string", x)
        sj = self.string_column(x)
        if sj is not None:
            for lit in lits:
                if lit.kind != "str":
                    raise ExprError(lit.pos, f"column {self.label(x)} is a string category column; its "
                                             "'in' list must hold strings")
                self.literal_string(sj, lit.value)
            self.use(sj, "string", x)
            texts = [lit.value for lit in lits]
            hit: _Fn = lambda row: isinstance(row[sj], str) and row[sj] in texts  # noqa: E731
        else:
            for lit in lits:
                if lit.kind != "num":
                    raise ExprError(lit.pos, "the left side of 'in' must be a column or a number"
                                    if x.kind == "str" else
                                    "a number is tested against a string list; the list must hold numbers")
            f = self.number(x)
            values = [np.float64(lit.value) for lit in lits]
            hit = lambda row: any(f(row) == v for v in values)  # noqa: E731
        neg = node.negated
        return lambda row: _b(bool(hit(row)) != neg)

    def call(self, node: Node) -> _Fn:
        name, args = node.value, node.kids
        if name not in FUNCS:
            raise ExprError(node.pos, f"unknown function '{name}' (known: {', '.join(FUNCS)})")
        lo, hi = FUNCS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = str(lo) if hi == lo else (f"at least {lo}" if hi is None else f"{lo} to {hi}")
            raise ExprError(node.pos, f"{name}() takes {want} argument{'' if want == '1' else 's'}, "
                                      f"got {len(args)}")
        if name == "is_null":
            a = args[0]
            if a.kind == "col":
                j = self.column(a)
                if (self.used.get(j) or self.kinds[j]) != "number":  # a string column, or not typed yet
                    return lambda row: _b(row[j] is None or (not isinstance(row[j], str) and row[j] != row[j]))
            f = self.number(a)
            return lambda row: _UNARY["is_null"](f(row))
        fns = [self.number(a) for a in args]
        if name == "if":
            c, a, b = fns
            return lambda row: a(row) if _truth(c(row)) else b(row)
        if name == "clip":
            x, lo_f, hi_f = fns
            return lambda row: _minimum(_maximum(x(row), lo_f(row)), hi_f(row))
        if lo == 1:
            f, op = fns[0], _UNARY[name]
            return lambda row: np.float64(op(f(row)))
        op = _BINARY[name]

        def fold(row):
            acc = fns[0](row)
            for g in fns[1:]:
                acc = op(acc, g(row))
            return acc
        return fold


def compile_expr(src: str, names: Sequence[Optional[str]], kinds: Sequence[str],
                 named: bool = True) -> Compiled:
    """Parse and check ``src`` against a frame (column names, ``kinds`` "number" | "string" |
    "unknown"); raises :class:`ExprError` as the engine would refuse it at load."""
    root = parse(src)
    ch = _Checker(names, kinds, named)
    fn = ch.number(root)
    return Compiled(src, fn, ch.used, ch.strings)
