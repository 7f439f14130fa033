"""A CRI v1 client for hull's Kubernetes tests (tests/cri/): the gRPC API kubelet speaks to a
container runtime, over containerd's socket.

It runs as a child of a test (one per test) and answers one request per line:
  stdin:  {"method": "RunPodSandbox", "request": {...}, "timeout": 30}
  stdout: {"response": {...}} or {"error": {"code": "NOT_FOUND", "details": "..."}}
Requests and responses are CRI's messages in protobuf's JSON mapping (camelCase names, enums
by name, 64-bit integers as strings in responses, every field present); the `bytes` fields of
ExecSync's response (stdout, stderr) are given as UTF-8 text. A method is looked up in
RuntimeService, then ImageService. It ends at the end of its stdin.

usage: python3 client.py SOCKET PROTO_DIR OUT_DIR
  PROTO_DIR  the directory of api.proto (runtime.v1, k8s.io/cri-api)
  OUT_DIR    where protoc's Python module of it is (made here when it is missing)

The keeper of the world (keeper.py) imports it for its teardown: `connect(...)`, then
`Cri.call`.

Debian's python3-grpcio, python3-protobuf and protobuf-compiler (protoc) are all it needs
(`make deps`).
"""

import json
import os
import subprocess
import sys


def compile_proto(proto_dir, out_dir):
    """protoc's Python module of api.proto in out_dir (api_pb2.py), made once."""
    if not os.path.exists(os.path.join(out_dir, "api_pb2.py")):
        os.makedirs(out_dir, exist_ok=True)
        tmp = out_dir + ".tmp-%d" % os.getpid()
        os.makedirs(tmp, exist_ok=True)
        subprocess.run(
            ["protoc", "-I", proto_dir, "--python_out=" + tmp, "api.proto"], check=True
        )
        # A rename: a concurrent client never imports half a module.
        os.rename(os.path.join(tmp, "api_pb2.py"), os.path.join(out_dir, "api_pb2.py"))
        os.rmdir(tmp)
    if out_dir not in sys.path:
        sys.path.insert(0, out_dir)


class Cri:
    """RuntimeService and ImageService of CRI v1 on a unix socket."""

    def __init__(self, socket, proto_dir, out_dir):
        compile_proto(proto_dir, out_dir)
        import grpc
        import api_pb2
        from google.protobuf import json_format

        self.grpc = grpc
        self.pb = api_pb2
        self.json_format = json_format
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.stubs = {}

    def _stub(self, method):
        if method in self.stubs:
            return self.stubs[method]
        for service in ("RuntimeService", "ImageService"):
            desc = self.pb.DESCRIPTOR.services_by_name[service]
            m = desc.methods_by_name.get(method)
            if m is None:
                continue
            req = getattr(self.pb, m.input_type.name)
            resp = getattr(self.pb, m.output_type.name)
            call = self.channel.unary_unary(
                "/runtime.v1.%s/%s" % (service, method),
                request_serializer=req.SerializeToString,
                response_deserializer=resp.FromString,
            )
            self.stubs[method] = (req, call)
            return self.stubs[method]
        raise KeyError("no CRI method %s" % method)

    def call(self, method, request, timeout=30):
        """The response as a dict; grpc.RpcError on an error status."""
        req_class, call = self._stub(method)
        req = self.json_format.ParseDict(request, req_class())
        resp = call(req, timeout=timeout)
        out = self.json_format.MessageToDict(resp, including_default_value_fields=True)
        if method == "ExecSync":
            out["stdout"] = resp.stdout.decode("utf-8", "replace")
            out["stderr"] = resp.stderr.decode("utf-8", "replace")
        return out


def serve(cri):
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            resp = cri.call(msg["method"], msg.get("request", {}), msg.get("timeout", 30))
            answer = {"response": resp}
        except cri.grpc.RpcError as e:
            answer = {"error": {"code": e.code().name, "details": e.details() or ""}}
        except Exception as e:  # a malformed request: the test's fault, said as an error
            answer = {"error": {"code": "CLIENT", "details": "%s: %s" % (type(e).__name__, e)}}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: client.py SOCKET PROTO_DIR OUT_DIR")
    serve(Cri(sys.argv[1], sys.argv[2], sys.argv[3]))
