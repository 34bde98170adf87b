# leadloop: the daemon in a container.
#   docker build -t leadloop .
#   docker run --env-file leadloop.env -v leadloop-var:/var/lib/leadloop \
#     -v ./leadloop.yaml:/etc/leadloop/leadloop.yaml:ro -p 8080:8080 leadloop
# Secrets come from the environment at run time; none is baked into the image.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY connectors connectors
COPY mappings mappings
COPY state state
COPY sync sync
# The same install the README's Quickstart runs, into a virtualenv copied to the runtime image.
RUN python3 -m venv /opt/leadloop && /opt/leadloop/bin/pip install -q .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/leadloop --create-home leadloop \
    && mkdir -p /etc/leadloop && chown leadloop /etc/leadloop
COPY --from=build /opt/leadloop /opt/leadloop
ENV PATH=/opt/leadloop/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LEADLOOP_CONFIG=/etc/leadloop/leadloop.yaml \
    DATABASE_URL=sqlite:////var/lib/leadloop/leadloop.db \
    LEADLOOP_HEALTH_PORT=8080
USER leadloop
WORKDIR /var/lib/leadloop
VOLUME ["/var/lib/leadloop"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python3 -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['LEADLOOP_HEALTH_PORT'], timeout=4)"
ENTRYPOINT ["leadloop"]
CMD ["run"]
