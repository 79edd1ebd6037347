# The Dispatch Board image: the Procfile's processes as commands.
#   docker run IMAGE                      web (dispatch serve --host 0.0.0.0, port 8000)
#   docker run IMAGE dispatch worker      relay, positions pipeline, feeds, alerts
#   docker run IMAGE dispatch migrate     bring the database to the latest schema (Procfile: release)
# compose.yaml runs them together with PostgreSQL and Redis. Settings come from the environment:
# docs/configuration.md lists every one.

# Build stage: a virtual environment with the project and its pinned dependencies. Every
# dependency ships a wheel for this Python, so no compiler is needed; were one ever needed, it
# would be installed here and never reach the final image.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /src
# Dependencies first, pinned by constraints.txt as `make install` does, so a change to the code
# alone reuses this layer.
COPY pyproject.toml constraints.txt README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -c constraints.txt -r /tmp/requirements.txt

COPY domain ./domain
COPY routing ./routing
COPY realtime ./realtime
COPY storage ./storage
COPY web ./web
RUN pip install -c constraints.txt --no-deps . \
    && pip check \
    && python -m compileall -q /opt/venv/lib/python3.11/site-packages

# Final stage: the interpreter, the virtual environment and a user without privileges.
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN groupadd --system --gid 10001 dispatch \
    && useradd --system --uid 10001 --gid dispatch --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin dispatch \
    && install -d -o dispatch -g dispatch /app /app/var

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
USER 10001:10001

EXPOSE 8000
CMD ["dispatch", "serve", "--host", "0.0.0.0"]
