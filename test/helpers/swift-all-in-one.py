# A single-node OpenStack Swift ("Swift all in one") in one Python process, for tests: the
# account, container and object servers and a proxy (tempauth, tempurl, copy, slo, dlo), each on
# a free port of 127.0.0.1, all in one eventlet hub. Started by test/helpers/swift.ts.
#
# Usage: python3 swift-all-in-one.py <dir> <token life seconds>
# Writes its configuration, rings (1 replica, one device) and data under <dir>, then prints one
# JSON line `{"proxy": <port>, ...}` on stdout once every server listens. Runs as the invoking
# user (no privilege drop), reads nothing from /etc/swift, and keeps the tokens tempauth issues in
# a dict in this process instead of memcached.

import eventlet
eventlet.patcher.monkey_patch(all=False, socket=True, select=True, thread=True)

import json
import logging
import os
import sys
import time

from eventlet import wsgi

os.environ['TZ'] = 'UTC+0'
time.tzset()

root = sys.argv[1]
token_life = sys.argv[2] if len(sys.argv) > 2 else '86400'
etc = os.path.join(root, 'etc')
devices = os.path.join(root, 'srv')
os.makedirs(etc, exist_ok=True)
os.makedirs(os.path.join(devices, 'd1'), exist_ok=True)

with open(os.path.join(etc, 'swift.conf'), 'w') as f:
    f.write('[swift-hash]\nswift_hash_path_suffix = meridian-test\nswift_hash_path_prefix = meridian-test\n'
            '[storage-policy:0]\nname = Policy-0\ndefault = yes\n')

from swift.common import utils  # noqa: E402
utils.set_swift_dir(etc)
from swift.common import constraints, storage_policy  # noqa: E402
storage_policy.reload_storage_policies()
constraints.reload_constraints()
from swift.common.ring import RingBuilder  # noqa: E402
from swift.common.wsgi import SwiftHttpProtocol, loadapp  # noqa: E402

listeners = {name: eventlet.listen(('127.0.0.1', 0)) for name in ('account', 'container', 'object', 'proxy')}
ports = {name: sock.getsockname()[1] for name, sock in listeners.items()}

# Rings: one device, one replica, 2^4 partitions (a handful of directories, built in milliseconds).
for name in ('account', 'container', 'object'):
    builder = RingBuilder(4, 1, 1)
    builder.add_dev({'id': 0, 'region': 1, 'zone': 1, 'ip': '127.0.0.1', 'port': ports[name],
                     'device': 'd1', 'weight': 1, 'meta': ''})
    builder.rebalance()
    builder.get_ring().save(os.path.join(etc, '%s.ring.gz' % name))

common = ('[DEFAULT]\ndevices = %s\nmount_check = false\nswift_dir = %s\nbind_ip = 127.0.0.1\n'
          'workers = 0\ndisable_fallocate = true\nlog_level = WARNING\n' % (devices, etc))
# Generous timeouts between the servers: on a loaded test machine a container update that misses
# the default 1 s would be queued for an updater that does not run here, and listings would lag.
timeouts = 'conn_timeout = 5\nnode_timeout = 30\n'
servers = {
    'account': '[pipeline:main]\npipeline = account-server\n[app:account-server]\nuse = egg:swift#account\n',
    'container': '[pipeline:main]\npipeline = container-server\n[app:container-server]\nuse = egg:swift#container\n' + timeouts,
    'object': ('[pipeline:main]\npipeline = object-server\n[app:object-server]\nuse = egg:swift#object\n' + timeouts +
               'container_update_timeout = 30\n'),
    'proxy': (
        '[pipeline:main]\n'
        'pipeline = catch_errors gatekeeper proxy-logging listing_formats tempurl tempauth copy slo dlo proxy-logging proxy-server\n'
        '[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\nallow_account_management = true\n' + timeouts +
        '[filter:tempauth]\nuse = egg:swift#tempauth\ntoken_life = %s\n'
        'user_test_tester = testing .admin\nuser_test_reader = reading\n' % token_life +
        '[filter:tempurl]\nuse = egg:swift#tempurl\n'
        '[filter:slo]\nuse = egg:swift#slo\n[filter:dlo]\nuse = egg:swift#dlo\n[filter:copy]\nuse = egg:swift#copy\n'
        '[filter:catch_errors]\nuse = egg:swift#catch_errors\n[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n'
        '[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n[filter:listing_formats]\nuse = egg:swift#listing_formats\n'
    ),
}


class DictCache(object):
    """What the proxy asks of memcached (tempauth tokens, account and container info), in memory."""

    def __init__(self):
        self.store = {}

    def get(self, key, raise_on_error=False):
        value = self.store.get(key)
        if value is None or (value[1] and value[1] < time.time()):
            return None
        return value[0]

    def set(self, key, value, serialize=True, time=0, min_compress_len=0, raise_on_error=False):
        self.store[key] = (json.loads(json.dumps(value)) if serialize else value, _expiry(time))

    def incr(self, key, delta=1, time=0):
        current = int(self.get(key) or 0) + delta
        self.store[key] = (current, _expiry(time))
        return current

    def decr(self, key, delta=1, time=0):
        return self.incr(key, -delta, time)

    def delete(self, key, server_key=None):
        self.store.pop(key, None)


def _expiry(seconds):
    if not seconds:
        return 0
    # memcached: up to 30 days is relative, beyond that an absolute unix time.
    return seconds if seconds > 30 * 86400 else time.time() + seconds


cache = DictCache()
apps = {}
for name, pipeline in servers.items():
    path = os.path.join(etc, '%s-server.conf' % name)
    with open(path, 'w') as f:
        f.write(common + 'bind_port = %d\n' % ports[name] + pipeline)
    apps[name] = loadapp(path, global_conf={'log_name': name})


def with_cache(app):
    def cached(env, start_response):
        env['swift.cache'] = cache
        return app(env, start_response)
    return cached


logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
for name, sock in listeners.items():
    app = with_cache(apps[name]) if name == 'proxy' else apps[name]
    eventlet.spawn(wsgi.server, sock, app, log=None, log_output=False, protocol=SwiftHttpProtocol,
                   socket_timeout=60, capitalize_response_headers=False)

print(json.dumps(ports), flush=True)
try:
    eventlet.Event().wait()
except KeyboardInterrupt:
    pass
