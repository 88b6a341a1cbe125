"""One macro for every proto target: Debian's protoc + grpc_cpp_plugin.

sam2_cc_proto_library(name, srcs, deps, grpc) runs protoc once over `srcs`
(paths relative to the workspace root, which is the import root) and wraps
the generated .pb and, when `grpc` is set, .grpc.pb sources in a cc_library.
`deps` are other sam2_cc_proto_library targets whose protos are imported.
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

PROTOC = "/usr/bin/protoc"
GRPC_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def sam2_cc_proto_library(name, srcs, deps = [], grpc = True, visibility = None):
    pkg = native.package_name()
    bases = [s[:-len(".proto")] for s in srcs]
    hdrs = [b + ".pb.h" for b in bases]
    cc_srcs = [b + ".pb.cc" for b in bases]
    if grpc:
        hdrs += [b + ".grpc.pb.h" for b in bases]
        cc_srcs += [b + ".grpc.pb.cc" for b in bases]
    grpc_flags = ("--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=%s " % GRPC_PLUGIN) if grpc else ""
    native.genrule(
        name = name + "_gen",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = hdrs + cc_srcs,
        cmd = "%s -I. --cpp_out=$(GENDIR) %s%s" % (
            PROTOC,
            grpc_flags,
            " ".join(["%s/%s" % (pkg, s) if pkg else s for s in srcs]),
        ),
    )
    native.filegroup(name = name + "_srcs", srcs = srcs, visibility = visibility)
    cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        deps = deps + ["//third_party/system:protobuf"] +
               (["//third_party/system:grpc"] if grpc else []),
        visibility = visibility,
    )
