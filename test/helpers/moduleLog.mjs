// `node --import ./test/helpers/moduleLog.mjs ...` appends the URL of every module the process resolves to the file
// named by MODULE_LOG, one a line, through Node's module customization hooks (module.register).
import { register } from 'node:module';

register('./moduleLogHooks.mjs', import.meta.url, { data: { file: process.env.MODULE_LOG } });
