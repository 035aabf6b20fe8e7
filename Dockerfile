# syntax=docker/dockerfile:1
# snapd in a container: a non-root, read-only image whose only state is /var/lib/snapd.
# From a checkout of this repository:
#
#   docker build -t hostinger-snapd --build-arg REVISION="$(git rev-parse HEAD)" .
#   install -d -m 0700 deploy/secrets
#   (umask 077 && cat > deploy/secrets/hostinger_api_token)   # paste the token, then Ctrl-D
#   sudo chown 65532:65532 deploy/secrets/hostinger_api_token  # the image's user reads it
#   docker run --read-only -v snapd-state:/var/lib/snapd \
#       -v "$PWD/deploy/container/config.yaml:/etc/snapd/config.yaml:ro" \
#       -v "$PWD/deploy/secrets/hostinger_api_token:/run/secrets/hostinger_api_token:ro" \
#       -p 127.0.0.1:9891:9891 hostinger-snapd
#
# The token is read from /run/secrets/hostinger_api_token (a Docker or Compose secret);
# the policy from /etc/snapd/config.yaml, whose metrics.listen must be 0.0.0.0:9891 for
# the port and the health check to work, and whose state_dir must be /var/lib/snapd, the
# volume (deploy/container/config.yaml is an example). Inside the container these paths
# are the image's own: no other daemon shares its file system.

ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The dependencies first, from pyproject.toml and the tested versions in constraints.txt
# alone: a change to snapd's code reuses this layer instead of installing them again.
# With the postgresql extra (psycopg), so that one image serves a single instance (SQLite)
# and the replicas of a PostgreSQL ledger alike.
COPY pyproject.toml constraints.txt ./
RUN python -m venv /opt/snapd \
    && python -c "import tomllib; project = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(project['dependencies'] + project['optional-dependencies']['postgresql']))" > requirements.txt \
    && /opt/snapd/bin/pip install --no-cache-dir -c constraints.txt -r requirements.txt
COPY README.md LICENSE ./
COPY snapd ./snapd
# snapd itself, without dependencies: they are all in the layer above (pip check fails
# the build when one is missing there).
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && /opt/snapd/bin/pip install --no-cache-dir --no-deps "$(echo /wheels/*.whl)" \
    && /opt/snapd/bin/pip check

FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
# Where the source is, and the commit the image was built from:
#   docker build --build-arg REVISION="$(git rev-parse HEAD)" .
ARG SOURCE=https://github.com/hostinger-snapd/hostinger-snapd
ARG REVISION=unknown
LABEL org.opencontainers.image.title="hostinger-snapd" \
      org.opencontainers.image.description="Scheduled, guarded snapshots for Hostinger VPS machines" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
# Nothing compiles bytecode at run time: the root filesystem is read-only.
ENV PATH=/opt/snapd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# tini, Debian's, as process 1: it reaps the orphans of hooks (a child a hook left behind
# when it exited), which snapd as process 1 would leave as zombies, and passes signals on.
RUN apt-get update \
    && apt-get install -y --no-install-recommends "tini=0.19.0-1*" \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/snapd /opt/snapd
# The ledger is the only thing snapd writes; the volume keeps it across containers.
RUN install -d -o 65532 -g 65532 -m 0700 /var/lib/snapd \
    && install -d -m 0755 /etc/snapd
VOLUME ["/var/lib/snapd"]
USER 65532:65532
EXPOSE 9891
# Python's standard library, not curl: the image carries no HTTP client besides snapd.
# /healthz answers 503 while the daemon is wedged, so Docker marks it unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9891/healthz', timeout=4)"]
ENTRYPOINT ["tini", "--", "snapd"]
CMD ["run", "-c", "/etc/snapd/config.yaml"]
