# syntax=docker/dockerfile:1
# snapd in a container: a non-root, read-only image whose only state is /var/lib/snapd.
#
#   docker build -t hostinger-snapd .
#   docker run --read-only -v snapd-state:/var/lib/snapd \
#       -v ./config.yaml:/etc/snapd/config.yaml:ro \
#       -v ./hostinger-api-token:/run/secrets/hostinger_api_token:ro \
#       -p 127.0.0.1:9891:9891 hostinger-snapd
#
# The token is read from /run/secrets/hostinger_api_token (a Docker or Compose secret);
# the policy from /etc/snapd/config.yaml, whose metrics.listen must be 0.0.0.0:9891 for
# the port and the health check to work (deploy/container/config.yaml is an example).

ARG PYTHON_IMAGE=python:3.12.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY snapd ./snapd
# With the postgresql extra (psycopg), so that one image serves a single instance (SQLite)
# and the replicas of a PostgreSQL ledger alike.
RUN python -m pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/snapd \
    && /opt/snapd/bin/pip install --no-cache-dir "$(echo /wheels/*.whl)[postgresql]"

FROM ${PYTHON_IMAGE}
ARG PYTHON_IMAGE
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="hostinger-snapd" \
      org.opencontainers.image.description="Scheduled, guarded snapshots for Hostinger VPS machines" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="${PYTHON_IMAGE}"
# Nothing compiles bytecode at run time: the root filesystem is read-only.
ENV PATH=/opt/snapd/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
COPY --from=build /opt/snapd /opt/snapd
# The ledger is the only thing snapd writes; the volume keeps it across containers.
RUN install -d -o 65532 -g 65532 -m 0700 /var/lib/snapd \
    && install -d -m 0755 /etc/snapd
VOLUME ["/var/lib/snapd"]
USER 65532:65532
EXPOSE 9891
# Python's standard library, not curl: the image carries no HTTP client besides snapd.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9891/healthz', timeout=4)"]
ENTRYPOINT ["snapd"]
CMD ["run", "-c", "/etc/snapd/config.yaml"]
