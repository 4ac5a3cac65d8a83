# The image claude-env runs Claude Code in. claude-env embeds this file and tags the image
# with a hash of it, so an edited Dockerfile is rebuilt on the next start.
#
# The container runs as the host user's uid:gid with no capabilities; HOME lives in the
# vault at /claude-env/home and the project is at /workspace.
ARG NODE_IMAGE=node:22-bookworm-slim
FROM ${NODE_IMAGE}

# "latest", or a version such as 2.0.14.
ARG CLAUDE_CODE_VERSION=latest

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        bash ca-certificates curl git jq less nano openssh-client procps ripgrep vim-tiny \
    && rm -rf /var/lib/apt/lists/*

RUN npm install --global "@anthropic-ai/claude-code@${CLAUDE_CODE_VERSION}" \
    && npm cache clean --force

# Claude Code lives in the image, not in $HOME: it must not update itself into the vault.
ENV DISABLE_AUTOUPDATER=1 \
    CLAUDE_CONFIG_DIR=/claude-env/home/.claude \
    HOME=/claude-env/home \
    EDITOR=nano \
    LANG=C.UTF-8

WORKDIR /workspace
CMD ["bash", "-l"]
