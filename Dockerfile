# syntax=docker/dockerfile:1.7
# One image for every Dagster process of the platform: the code server (the default command), the webserver, the
# daemon and each run. It holds the production instance (infra/dagster/dagster.yaml; on ECS, DAGSTER_HOME=/opt/dagster/ecs
# selects infra/dagster/dagster-ecs.yaml) and no credential: PostgreSQL's and AWS's come from the container's environment.
#
#   docker build -t favorita-dagster .
#   behind a TLS-intercepting proxy:  --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt
#   with a local CPU torch wheel:     --build-context wheels=/folder/holding/torch-2.13.0+cpu-...whl
#   another base (same layout):       --build-arg BASE_IMAGE=...
#
# Roles (same image):
#   code server  dagster code-server start -h 0.0.0.0 -p 4000 -m favorita_assets.definitions --location-name favorita
#   webserver    dagster-webserver -h 0.0.0.0 -p 3000 -w /opt/dagster/workspace.yaml
#   daemon       dagster-daemon run -w /opt/dagster/workspace.yaml

ARG BASE_IMAGE=python:3.11-slim-bookworm

# Extra wheels for pip (a local CPU torch wheel); empty unless --build-context wheels=DIR replaces this stage.
FROM scratch AS wheels

FROM ${BASE_IMAGE} AS build
# The CPU build of torch: its own index, so pip never pulls the multi-GB CUDA wheels (empty: PyPI and wheels only).
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY favorita_assets ./favorita_assets
COPY ops_jobs ./ops_jobs
# The proxy's CA bundle, when there is one, is mounted for these commands only: it never lands in a layer.
RUN --mount=type=secret,id=ca,required=false \
    --mount=type=bind,from=wheels,target=/wheels \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && /opt/venv/bin/pip install --find-links /wheels ${TORCH_INDEX:+--extra-index-url "${TORCH_INDEX}"} torch==2.13.0 \
    && /opt/venv/bin/pip install --find-links /wheels ${TORCH_INDEX:+--extra-index-url "${TORCH_INDEX}"} .

FROM ${BASE_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_COMPUTE_LOG_DIR=/opt/dagster/compute_logs \
    FAVORITA_DATA_DIR=/opt/dagster/data \
    FAVORITA_STORAGE_DIR=/opt/dagster/storage
# LightGBM's wheel links the system's OpenMP runtime (libgomp1), which slim and minbase Debian images leave out.
# DL3008 (pin apt versions): the base image's own release pins it; a pinned version would break on its next update.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin dagster \
    && mkdir -p /opt/dagster/home /opt/dagster/ecs /opt/dagster/var /opt/dagster/compute_logs /opt/dagster/data \
       /opt/dagster/storage \
    && chown -R 10001:10001 /opt/dagster
COPY --from=build /opt/venv /opt/venv
COPY --chown=10001:10001 infra/dagster/dagster.yaml /opt/dagster/home/dagster.yaml
COPY --chown=10001:10001 infra/dagster/dagster-ecs.yaml /opt/dagster/ecs/dagster.yaml
COPY --chown=10001:10001 infra/dagster/workspace.yaml /opt/dagster/workspace.yaml
USER 10001
WORKDIR /opt/dagster
EXPOSE 3000 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "favorita_assets.definitions", "--location-name", "favorita"]

# The pure core's unit tests, run inside the image (built only with --target selftest).
FROM runtime AS selftest
# DL3066 (a user name may not resolve on the host): root exists in every base; pip writes to /opt/venv as root.
# hadolint ignore=DL3066
USER root
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
    && pip install --no-cache-dir "pytest==8.4.2"
COPY --chown=10001:10001 tests/conftest.py /opt/dagster/tests/conftest.py
COPY --chown=10001:10001 tests/unit /opt/dagster/tests/unit
USER 10001
