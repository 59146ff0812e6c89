# syntax=docker/dockerfile:1
# RouterX backend: one image for `routerx gateway | admin | migrate | seed`.
# Build from the repository root: docker build -f deploy/backend.Dockerfile .
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    UV_NO_CACHE=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /src
COPY backend/requirements.lock backend/pyproject.toml ./
# requirements.lock pins the runtime and the dev extras together. Resolve only
# [project.dependencies] with the lock as constraints: the runtime set at its locked versions and
# no test, lint or audit tools. The grep fails the build if the resolver picked anything the lock
# does not hold (e.g. a package whose marker differs on this interpreter), so the image never
# runs an unlocked version. uv comes from the lock too.
RUN pip install "$(grep -E '^uv==' requirements.lock)" \
 && uv pip compile pyproject.toml --constraint requirements.lock \
        --no-header --no-annotate --output-file runtime.txt \
 && ! grep -vxF -f requirements.lock runtime.txt \
 && uv venv /opt/venv \
 && uv pip install --python /opt/venv/bin/python --no-deps --only-binary :all: \
        --requirement runtime.txt
COPY backend/src ./src
RUN echo "setuptools==84.2.1" > build-constraints.txt \
 && uv pip install --python /opt/venv/bin/python --no-deps \
        --build-constraints build-constraints.txt .

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN groupadd --system --gid 10001 routerx \
 && useradd --system --uid 10001 --gid routerx --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin routerx
COPY --from=build /opt/venv /opt/venv
# An empty working directory: settings.py reads ./.env when present, and none belongs in an image.
WORKDIR /app
USER 10001:10001
EXPOSE 8080 8081
CMD ["routerx", "gateway"]
