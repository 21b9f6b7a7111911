# Varnish in front of the CMS: delivery answers kept for as long as the CMS's
# Surrogate-Control says (a day by default), each tagged with its Surrogate-Key so the CMS can
# purge exactly what a commit changed (vmod xkey, from Debian's varnish-modules); everything
# else passed through uncached. See docs/caches.md.
vcl 4.1;

import std;
import xkey;

include "origin.vcl";

sub vcl_recv {
    if (req.method == "PURGE") {
        if (client.ip !~ origin) {
            return (synth(403, "Purges are taken from the CMS only"));
        }
        if (!req.http.xkey) {
            return (synth(400, "Name the keys to purge in an xkey header"));
        }
        set req.http.n-gone = xkey.purge(req.http.xkey);
        return (synth(200, "Purged " + req.http.n-gone));
    }
    if (req.method != "GET" && req.method != "HEAD") {
        return (pass);
    }
    # the delivery API, feeds, sitemaps and media; never the management API, sessions,
    # preview links, the workbench or /healthz
    if (req.url !~ "^/(api/v1/(articles|sync)([/?]|$)|feed\.(xml|json)(\?|$)|sitemap(-[0-9]+)?\.xml(\?|$)|media/)") {
        return (pass);
    }
    # a request that names someone is answered for them alone
    if (req.http.Authorization || req.http.Cookie) {
        return (pass);
    }
    return (hash);
}

sub vcl_backend_response {
    # an answer without keys could not be purged: it is never kept
    if (!beresp.http.Surrogate-Key) {
        set beresp.uncacheable = true;
        set beresp.ttl = 120s;
        return (deliver);
    }
    set beresp.http.xkey = beresp.http.Surrogate-Key;
    # Varnish reads Cache-Control, which is for browsers; the CMS says how long a cache
    # that purges may keep an answer in Surrogate-Control
    if (beresp.http.Surrogate-Control ~ "max-age=[0-9]+") {
        set beresp.ttl = std.duration(regsub(beresp.http.Surrogate-Control,
            "^.*max-age=([0-9]+).*$", "\1s"), 120s);
    }
    return (deliver);
}

sub vcl_deliver {
    unset resp.http.xkey;
    unset resp.http.Surrogate-Control;
    if (obj.hits > 0) {
        set resp.http.X-Cache = "HIT";
    } else {
        set resp.http.X-Cache = "MISS";
    }
}
