// Issue 18: runtime — every benchmark runs Kartei under the production start. Preloaded with
// `node --import ./bench/production-start.ts <bench script>` (the npm scripts, and the benches'
// spawn lines for their server processes), it does what bin/kartei.js does before anything
// else: re-executes the process once with the allocator KARTEI_ALLOCATOR chooses
// (src/ops/launch.ts; default tuned), so the bench measures what an office runs. Programs the
// bench starts itself (Orthanc, DCMTK) do not inherit those settings.
import { launch } from '../src/ops/launch.ts';

// `--import` runs this in every worker thread too (audit verify's, the WAL checkpointer's); launch()
// starts over only from the main thread.
launch();
