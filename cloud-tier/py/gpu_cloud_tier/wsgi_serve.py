"""Serve a WSGI application factory on 127.0.0.1 with threads (no Apache or uwsgi here).

python3 -m gpu_cloud_tier.wsgi_serve PORT module:factory
"""
import importlib
import socketserver
import sys
from wsgiref import simple_server


class _Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _Handler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        sys.stderr.write('%s - %s\n' % (self.address_string(), args[0] % args[1:]))


def main():
    port, target = int(sys.argv[1]), sys.argv[2]
    # The services parse sys.argv with oslo.config: give them none of ours.
    sys.argv = sys.argv[:1]
    module, factory = target.split(':')
    app = getattr(importlib.import_module(module), factory)()
    server = simple_server.make_server('127.0.0.1', port, app, server_class=_Server, handler_class=_Handler)
    server.serve_forever()


if __name__ == '__main__':
    main()
