# One image for every Weftwork service and the gateway: `weftwork serve <name>` (see k8s/).
# The base is pinned to an exact release; a release build may add its digest
# (python:3.11.14-slim-trixie@sha256:...) once it has resolved it from its registry mirror.
FROM python:3.11.14-slim-trixie AS base

FROM base AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/weftwork
COPY pyproject.toml constraints.txt README.md ./
COPY mesh ./mesh
COPY services ./services
COPY gateway ./gateway
COPY devstack ./devstack
COPY weftwork ./weftwork
# Binary wheels only, at the versions CI tested (constraints.txt): nothing is compiled, so
# neither stage needs a compiler. pip writes the .pyc files the read-only runtime cannot.
RUN /opt/weftwork/bin/pip install --only-binary=:all: --constraint constraints.txt . \
    && /opt/weftwork/bin/weftwork --help >/dev/null

FROM base AS runtime
RUN groupadd --system --gid 10001 weftwork \
    && useradd --system --uid 10001 --gid weftwork --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin weftwork
COPY --from=build /opt/weftwork /opt/weftwork
# WEFTWORK_HOST: listen on every interface of the pod. WEFTWORK_DATA_DIR: the only writable
# path the process may touch (an emptyDir in Kubernetes; nothing is kept there in a cluster).
ENV PATH=/opt/weftwork/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEFTWORK_HOST=0.0.0.0 \
    WEFTWORK_DATA_DIR=/tmp/weftwork
WORKDIR /tmp
# Numeric, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 10001:10001
EXPOSE 8000 50051 50052 50053 50054 9451 9452 9453 9454
ENTRYPOINT ["weftwork"]
CMD ["--help"]
