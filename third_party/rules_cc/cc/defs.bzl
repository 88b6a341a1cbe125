"""Offline stand-in for @rules_cc//cc:defs.bzl.

Bazel 4.2.3 (Debian's bazel-bootstrap) fetches rules_cc from the network for
some built-in rules; this repository answers those loads by forwarding to the
native C++ rules, so the build never leaves the machine. Debian's
bazel-rules-cc package targets newer Bazel releases and is not used.
"""

def cc_binary(**attrs):
    native.cc_binary(**attrs)

def cc_library(**attrs):
    native.cc_library(**attrs)

def cc_test(**attrs):
    native.cc_test(**attrs)

def cc_import(**attrs):
    native.cc_import(**attrs)

def cc_proto_library(**attrs):
    native.cc_proto_library(**attrs)

def cc_toolchain(**attrs):
    native.cc_toolchain(**attrs)

def cc_toolchain_suite(**attrs):
    native.cc_toolchain_suite(**attrs)

def objc_library(**attrs):
    native.objc_library(**attrs)

def objc_import(**attrs):
    native.objc_import(**attrs)
