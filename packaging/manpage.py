#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the t2u authors
"""Writes a man page (roff, section 1) for a t2u binary from swift-argument-parser's own
description of its commands (`BINARY --experimental-dump-help`, ToolInfo v0), so the pages say
exactly what --help says. Usage: manpage.py BINARY VERSION > NAME.1
(The argument parser's generate-manual plugin would rebuild the package in another
configuration; this reads the binaries already built.)"""
import json
import subprocess
import sys


def roff(text):
    """Escapes text for roff: backslashes, and a leading dot or quote on any line."""
    lines = []
    for line in (text or "").replace("\\", "\\e").split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def flag_names(argument):
    names = []
    for name in argument.get("names", []):
        prefix = "-" if name["kind"] == "short" else "--"
        names.append(prefix + name["name"])
    return ", ".join(names)


def usage(argument):
    value = argument.get("valueName", "value")
    if argument["kind"] == "positional":
        return "<%s>%s" % (value, " ..." if argument.get("isRepeating") else "")
    if argument["kind"] == "flag":
        return flag_names(argument)
    return "%s <%s>" % (flag_names(argument), value)


def command_section(command, path, out):
    arguments = [a for a in command.get("arguments", []) if a.get("shouldDisplay", True)]
    if path:
        out.append(".SH \"%s\"" % roff(" ".join(path)).upper())
        if command.get("abstract"):
            out.append(roff(command["abstract"]))
    if command.get("discussion"):
        out.append(".PP")
        out.append(roff(command["discussion"]).replace("\n\n", "\n.PP\n"))
    for argument in arguments:
        out.append(".TP")
        out.append("\\fB%s\\fR" % roff(usage(argument)))
        text = argument.get("abstract", "")
        if argument.get("defaultValue") is not None:
            text += " (default: %s)" % argument["defaultValue"]
        out.append(roff(text) or "\\&")
    for sub in command.get("subcommands", []):
        if sub.get("shouldDisplay", True) and sub["commandName"] != "help":
            command_section(sub, path + [sub["commandName"]], out)


def main():
    binary, version = sys.argv[1], sys.argv[2]
    info = json.loads(subprocess.run([binary, "--experimental-dump-help"], check=True, capture_output=True, text=True).stdout)
    command = info["command"]
    name = command["commandName"]
    out = [
        '.TH "%s" "1" "" "t2u %s" "t2u manual"' % (name.upper(), roff(version)),
        ".SH NAME",
        "%s \\- %s" % (name, roff(command.get("abstract", ""))),
        ".SH SYNOPSIS",
        "\\fB%s\\fR %s" % (name, roff(" ".join(
            ("[%s]" if a.get("isOptional") else "%s") % usage(a)
            for a in command.get("arguments", []) if a.get("shouldDisplay", True)))),
        ".SH DESCRIPTION",
    ]
    subs = [s["commandName"] for s in command.get("subcommands", []) if s.get("shouldDisplay", True) and s["commandName"] != "help"]
    if subs:
        out.append("Subcommands: %s." % ", ".join(subs))
    command_section(command, [], out)
    out += [".SH VERSION", roff(version), ".SH \"SEE ALSO\"", "t2u(1), t2u\\-server(1), t2usvr(1)"]
    sys.stdout.write("\n".join(out) + "\n")


main()
