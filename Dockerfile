# syntax=docker/dockerfile:1
# The dvp-console image: the console alone (none of dvpsim's dependencies), installed from the hashed
# lock, static files collected with hashed names, run as a non-root user on a read-only root
# filesystem (only /tmp, a volume, is writable). tests/deploy/test_image_steps.py performs these
# same steps without Docker and checks that the result serves.
#   docker build -t dvp-console .

# 1. The front-end libraries (package-lock.json), only to collect the files the pages load.
FROM node:20-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

# 2. The virtualenv: the locked dependencies, then the console's wheel without its extras.
FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY requirements.lock ./
RUN python -m venv /opt/venv && /opt/venv/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml manage.py ./
COPY portal portal
COPY projects projects
COPY virtualization virtualization
COPY system system
COPY dvpsim dvpsim
RUN /opt/venv/bin/pip wheel --no-deps -w /wheels . && /opt/venv/bin/pip install --no-deps /wheels/*.whl \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib
COPY templates /app/templates
COPY static /app/static
COPY --from=assets /src/node_modules /app/node_modules
ENV DVP_SHARE_DIR=/app DJANGO_STATIC_ROOT=/app/staticfiles DJANGO_SETTINGS_MODULE=portal.settings
RUN DJANGO_SECRET_KEY=collectstatic-only-key-never-used-to-sign-anything-at-runtime /opt/venv/bin/django-admin collectstatic --noinput -v 0 \
 && rm -rf /app/node_modules

# 3. The runtime: the venv and /app, nothing else of the build.
FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --no-create-home console
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
ENV PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=portal.settings \
    DVP_SHARE_DIR=/app \
    DJANGO_STATIC_ROOT=/app/staticfiles \
    DVP_LOG_FORMAT=json \
    DVP_IN_CLUSTER=1 \
    DVP_HTTPS=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
USER 10001:10001
WORKDIR /tmp
VOLUME /tmp
EXPOSE 8000
# Migrations run once per rollout in the Deployment's init container: `django-admin migrate --noinput`.
# -v 0: no text access log from Daphne; the console logs each request as JSON (logger dvp.access).
CMD ["daphne", "--bind", "0.0.0.0", "--port", "8000", "-v", "0", "portal.asgi:application"]
