# Where the CMS is, and the only address purges are taken from: the CMS's own. This is the
# file to change for your set-up (default.vcl includes it); the values here are those of
# docker-compose.yml, where the CMS is the service `cms`. A host name is looked up when the
# VCL is loaded; in parentheses, an ACL entry that does not resolve is left out (without them
# it would match every address).
backend cms {
    .host = "cms";
    .port = "8000";
    .connect_timeout = 2s;
    .first_byte_timeout = 30s;
}

acl origin {
    ("cms");
    "127.0.0.1";
}
