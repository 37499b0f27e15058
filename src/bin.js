#!/usr/bin/env node
// The package's bin: loads TypeScript through tsx so a fresh clone runs after `npm install`, with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli/index.ts');
await main(process.argv);
