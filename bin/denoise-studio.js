#!/usr/bin/env node
// The `denoise-studio` command: runs the compiled CLI (npm ci builds dist/ through `prepare`).
import '../dist/src-main/cli/main.js';
