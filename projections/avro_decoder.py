"""A decoder of Avro binary compiled from one schema into Python source: the replay's hot path.

fastavro's ``schemaless_reader`` walks the schema for every record it reads, in generic code:
on the 2-core machine of the README's figures it spends ~14 µs on one event, more than the
whole budget of a replay at 150,000 events/s. The event schema is small and fixed, so this
module writes one Python function per record type of it, each reading its fields in order with
the varint and string reads inlined, and ``exec``\\ s that source once per codec.

It reads exactly what fastavro reads with the schema's parsing canonical form (no logical
types: timestamps stay microseconds) and ``return_record_name=True,
return_record_name_override=True``: a union of several records is ``(full name, fields)``, a
union of ``null`` and one type is that type's value or ``None``. It handles the types the event
schemas use (records, ``string``, ``int``, ``long``, ``boolean``, ``map`` and ``array`` of any of those,
and unions); :func:`compile_decoder` refuses any other, and the caller keeps fastavro for it.
Malformed bytes raise (``IndexError``, ``UnicodeDecodeError``, ``ValueError``); the caller then
decodes the record with fastavro, which reports the error as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Decodes one record's body: ``(bytes, position) -> (value, position after it)``.
RecordDecoder = Callable[[bytes, int], tuple[Any, int]]


class UnsupportedSchemaError(ValueError):
    """The schema uses a type this decoder does not compile."""


def read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint (Avro ``int`` or ``long``) at ``pos``: ``(value, position after it)``."""
    b = buf[pos]
    pos += 1
    n = b & 0x7F
    shift = 7
    while b & 0x80:
        b = buf[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        shift += 7
    return (n >> 1) ^ -(n & 1), pos


class _Compiler:
    """Writes the source of one function per named record of a schema."""

    def __init__(self, skip: frozenset[str]) -> None:
        self.functions: dict[str, list[str]] = {}
        self._counter = 0
        self._skip = skip
        self._top: dict[str, Any] = {}

    def fresh(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}{self._counter}"

    def record(self, schema: dict[str, Any]) -> str:
        """The name of the function decoding record ``schema`` (compiled on first use)."""
        name = "_rec_" + schema["name"].replace(".", "_")
        if name in self.functions:
            return name
        self.functions[name] = []  # claimed first: a recursive reference finds it
        lines = [f"def {name}(buf, pos):"]
        fields = []
        for field in schema["fields"]:
            var = self.fresh("v")
            if schema is self._top and field["name"] in self._skip and field["type"] in ("long", "string"):
                lines += self.skipped(field["type"], "    ")
                continue
            lines += self.value(field["type"], var, "    ")
            fields.append(f"{field['name']!r}: {var}")
        lines.append(f"    return {{{', '.join(fields)}}}, pos")
        self.functions[name] = lines
        return name

    def value(self, schema: Any, var: str, indent: str) -> list[str]:
        """Lines that read one value of ``schema`` at ``pos`` into ``var`` and advance ``pos``."""
        if isinstance(schema, list):
            return self.union(schema, var, indent)
        kind = schema if isinstance(schema, str) else schema["type"]
        if isinstance(schema, dict) and kind == "record":
            return [f"{indent}{var}, pos = {self.record(schema)}(buf, pos)"]
        if isinstance(schema, str) and kind not in _PRIMITIVES:
            return [f"{indent}{var}, pos = _rec_{kind.replace('.', '_')}(buf, pos)"]
        if kind in ("int", "long"):
            return self.long(var, indent)
        if kind == "string":
            n = self.fresh("n")
            return [
                *self.long(n, indent),
                f"{indent}{var} = buf[pos:pos + {n}].decode()",
                f"{indent}pos += {n}",
                f"{indent}if pos > len(buf): raise IndexError('string past the end')",
            ]
        if kind == "boolean":
            return [f"{indent}{var} = buf[pos] == 1", f"{indent}pos += 1"]
        if kind == "map":
            return self.map(schema["values"], var, indent)
        if kind == "array":
            return self.array(schema["items"], var, indent)
        raise UnsupportedSchemaError(f"no compiled reader for Avro type {kind!r}")

    def skipped(self, kind: str, indent: str) -> list[str]:
        """Lines that step over a ``long`` or a ``string`` without making its value."""
        if kind == "long":
            return [f"{indent}while buf[pos] & 0x80:", f"{indent}    pos += 1", f"{indent}pos += 1"]
        n = self.fresh("n")
        return [
            *self.long(n, indent),
            f"{indent}pos += {n}",
            f"{indent}if pos > len(buf) or {n} < 0: raise IndexError('string past the end')",
        ]

    def long(self, var: str, indent: str) -> list[str]:
        """Read a varint inline when it is one byte (most lengths and indexes are)."""
        return [
            f"{indent}{var} = buf[pos]",
            f"{indent}if {var} < 0x80:",
            f"{indent}    {var} = ({var} >> 1) ^ -({var} & 1)",
            f"{indent}    pos += 1",
            f"{indent}else:",
            f"{indent}    {var}, pos = read_long(buf, pos)",
        ]

    def blocks(self, count: str, indent: str, item: Callable[[str], list[str]]) -> list[str]:
        """Avro's blocked items of an array or map: blocks of ``count`` items until a zero count (a
        negative count is followed by the block's size in bytes); ``item(indent)`` reads one."""
        lines = [*self.long(count, indent), f"{indent}while {count}:"]
        inner = indent + "    "
        lines += [
            f"{inner}if {count} < 0:",
            f"{inner}    {count} = -{count}",
            f"{inner}    _, pos = read_long(buf, pos)",
            f"{inner}for _ in range({count}):",
        ]
        lines += item(inner + "    ")
        lines += self.long(count, inner)
        return lines

    def map(self, values: Any, var: str, indent: str) -> list[str]:
        count, key, item = self.fresh("c"), self.fresh("k"), self.fresh("i")

        def entry(body: str) -> list[str]:
            return [
                *self.value("string", key, body),
                *self.value(values, item, body),
                f"{body}{var}[{key}] = {item}",
            ]

        return [f"{indent}{var} = {{}}", *self.blocks(count, indent, entry)]

    def array(self, items: Any, var: str, indent: str) -> list[str]:
        count, item = self.fresh("c"), self.fresh("i")

        def element(body: str) -> list[str]:
            return [*self.value(items, item, body), f"{body}{var}.append({item})"]

        return [f"{indent}{var} = []", *self.blocks(count, indent, element)]

    def union(self, branches: list[Any], var: str, indent: str) -> list[str]:
        index = self.fresh("u")
        lines = self.long(index, indent)
        others = [b for b in branches if b != "null"]
        named = len(others) > 1
        for position, branch in enumerate(branches):
            test = f"{indent}{'if' if position == 0 else 'elif'} {index} == {position}:"
            lines.append(test)
            if branch == "null":
                lines.append(f"{indent}    {var} = None")
                continue
            lines += self.value(branch, var, indent + "    ")
            if named:
                lines.append(f"{indent}    {var} = ({_full_name(branch)!r}, {var})")
        lines += [f"{indent}else:", f"{indent}    raise ValueError('union index out of range')"]
        return lines


_PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _full_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("name", schema["type"]))
    return str(schema)


def compile_decoder(schema: dict[str, Any], skip: frozenset[str] = frozenset()) -> RecordDecoder:
    """Compile the decoder of a record schema given in parsing canonical form (parsed JSON).

    :param dict schema: The record schema, names fully qualified (as the canonical form has them).
    :param skip: Top-level ``long`` or ``string`` fields to step over: absent from the result
        (a replay needs neither an event's id nor its ``occurred_at``).
    :raises UnsupportedSchemaError: If it uses a type this module does not compile.
    """
    if schema.get("type") != "record":
        raise UnsupportedSchemaError("only a record schema compiles")
    compiler = _Compiler(skip)
    compiler._top = schema  # noqa: SLF001 - the record whose fields ``skip`` names
    entry = compiler.record(schema)
    source = "\n\n".join("\n".join(lines) for lines in compiler.functions.values())
    namespace: dict[str, Any] = {"read_long": read_long}
    exec(compile(source, f"<avro decoder of {schema['name']}>", "exec"), namespace)
    decoder: RecordDecoder = namespace[entry]
    return decoder
