// One series on a canvas: wheel and keys scroll through the images, dragging
// sets the window (or pans or zooms, by the chosen tool), presets set the usual
// CT windows. Frames load in the background, nearest to the current one first.
import {
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
  type KeyboardEvent,
  type PointerEvent,
  type ReactNode,
} from 'react';
import { useT } from '../i18n/i18n.ts';
import { fetchFrames, instanceMeta, seriesMeta, type Frame, type ImageMeta, type SeriesImage } from './dicomweb.ts';
import { FRAME_DECODERS } from '../../../src/imaging/dicom/frame-decoders.ts';
import {
  PRESETS,
  decodedInfo,
  fullRange,
  paint,
  samplesOf,
  storedValues,
  windowLut,
  type PixelInfo,
  type Window,
} from './pixels.ts';

type Tool = 'window' | 'pan' | 'zoom';

/** A promise and its resolve (Promise.withResolvers, which older browsers lack). */
function signal(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Runs `f` once the browser has painted what the page shows now. */
const afterPaint = (f: () => void) => requestAnimationFrame(() => setTimeout(f));
/** How long the rest waits for the first image at most (a hidden tab paints nothing; the user may have scrolled on). */
const FIRST_IMAGE_WAIT_MS = 150;
const PARALLEL = 6;
/** Frames of one instance asked for together: one request, one decision, one audit event. */
const FRAMES_PER_REQUEST = 20;

/**
 * A frame's values and what they are: stored ones as the instance says (a compressed frame
 * decoded to them first, once), a browser-decoded JPEG as 8-bit samples. Throws
 * FrameDecodeError for a compressed frame that is not what its attributes say.
 */
function valuesOf(frame: Frame, info: PixelInfo, decoded: WeakMap<Frame, Uint8Array>) {
  if ('data' in frame) return { info, values: storedValues(frame.data, info) };
  if ('compressed' in frame) {
    let bytes = decoded.get(frame);
    if (!bytes) {
      bytes = FRAME_DECODERS[frame.syntax]!(frame.compressed, info);
      decoded.set(frame, bytes);
    }
    // A buffer of its own from offset 0 (FrameDecoder's promise): aligned for 16-bit views.
    return { info, values: storedValues(bytes.buffer as ArrayBuffer, info) };
  }
  const shown = decodedInfo(info);
  let values = decoded.get(frame);
  if (!values) {
    values = samplesOf(frame.rgba, shown.samplesPerPixel);
    decoded.set(frame, values);
  }
  return { info: shown, values };
}

/** `overlay`: drawn over the image inside the image area (whose study it is), so a screenshot of the area keeps it. */
export function Viewport({
  studyUid,
  seriesUid,
  images,
  overlay,
}: {
  studyUid: string;
  seriesUid: string;
  images: SeriesImage[];
  overlay?: ReactNode;
}) {
  const t = useT();
  const canvas = useRef<HTMLCanvasElement>(null);
  // By image key: the list of images grows once the study's search has answered.
  const frames = useRef(new Map<string, Frame>());
  const metas = useRef(new Map<string, ImageMeta>());
  const [, setMetaCount] = useState(0);
  const [, setArrivals] = useState(0);
  const [index, setIndex] = useState(0);
  const [win, setWin] = useState<Window | null>(null);
  const [view, setView] = useState({ zoom: 1, x: 0, y: 0 });
  const [tool, setTool] = useState<Tool>('window');
  const [error, setError] = useState<string | null>(null);
  const drag = useRef<{ x: number; y: number; win: Window | null; view: typeof view } | null>(null);
  const lut = useRef<{ key: string; table: ReturnType<typeof windowLut> } | null>(null);
  const drawn = useRef<{ frame?: Frame; key?: string }>({});
  const decoded = useRef(new WeakMap<Frame, Uint8Array>());
  const want = useRef(0);
  want.current = index;
  // The first image alone first: on two cores, anything loading beside it slows it down.
  const [firstShown] = useState(signal);

  // Metadata: the first instance's at once (to draw it early), then the whole series'.
  useEffect(() => {
    let live = true;
    const first = images[0];
    const keep = (entries: [string, ImageMeta][]) => {
      if (!live) return;
      for (const [uid, m] of entries) metas.current.set(uid, m);
      setMetaCount(metas.current.size);
    };
    const fail = (e: unknown) => {
      if (live) setError(String(e));
      firstShown.resolve();
    };
    const firstMeta =
      !first || metas.current.has(first.sopUid)
        ? Promise.resolve()
        : instanceMeta(first).then((m) => keep([[first.sopUid, m]]));
    // The series' metadata reads every instance's header: after the first image is shown, not beside it.
    void firstMeta
      .then(() => firstShown.promise)
      .then(() =>
        live && images.some((i) => !metas.current.has(i.sopUid))
          ? seriesMeta(studyUid, seriesUid)
          : new Map<string, ImageMeta>(),
      )
      .then((all) => keep([...all]), fail);
    return () => {
      live = false;
    };
  }, [images, studyUid, seriesUid, firstShown]);

  // Background loading, nearest first, a few requests at a time; frames of one instance together.
  useEffect(() => {
    let live = true;
    setError(null);
    const queue = images.flatMap((image, i) => (frames.current.has(image.key) ? [] : [i]));
    const nearest = () => {
      queue.sort((a, b) => Math.abs(a - want.current) - Math.abs(b - want.current));
      return queue.shift();
    };
    const take = (): number[] => {
      const first = nearest();
      if (first === undefined) return [];
      const same = queue.filter((j) => images[j]!.sopUid === images[first]!.sopUid).slice(0, FRAMES_PER_REQUEST - 1);
      for (const j of same) queue.splice(queue.indexOf(j), 1);
      return [first, ...same];
    };
    const load = async (batch: number[]) => {
      try {
        const got = await fetchFrames(batch.map((i) => images[i]!));
        batch.forEach((i, k) => {
          frames.current.set(images[i]!.key, got[k]!);
        });
        if (live) setArrivals((n) => n + 1);
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
        firstShown.resolve(); // nothing to wait for
      }
    };
    const worker = async () => {
      for (let batch = take(); batch.length > 0 && live; batch = take()) await load(batch);
    };
    // The shown image alone first (unless it is here already); the rest once it is on screen, or after a short wait at most.
    const current = images[want.current];
    const first = current && !frames.current.has(current.key) ? nearest() : undefined;
    const shown = () => {
      setTimeout(firstShown.resolve, FIRST_IMAGE_WAIT_MS);
      return firstShown.promise;
    };
    void (first === undefined ? Promise.resolve() : load([first]).then(shown)).then(() => {
      for (let k = 0; k < PARALLEL && live; k++) void worker();
    });
    return () => {
      live = false;
    };
  }, [images, firstShown]);

  // Draw the current image whenever it, its window or its arrival changes: before
  // the browser paints the update, not a frame later.
  const frame = images[index] && frames.current.get(images[index].key);
  const loaded = images.filter((i) => frames.current.has(i.key)).length;
  const meta = images[index] && metas.current.get(images[index].sopUid);
  useLayoutEffect(() => {
    const c = canvas.current;
    if (!c || !frame || !meta) return;
    const ctx = c.getContext('2d')!;
    let shown: ReturnType<typeof valuesOf>;
    try {
      shown = valuesOf(frame, meta.info, decoded.current);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return;
    }
    const { info, values } = shown;
    const w = win ?? meta.window ?? fullRange(values, info);
    const key = `${w.center}/${w.width}/${info.bitsAllocated}/${info.pixelRepresentation}/${info.slope}/${info.intercept}/${info.photometric}`;
    // Showing the window it chose re-runs this effect: the canvas already shows that.
    if (drawn.current.frame === frame && drawn.current.key === key) return;
    if (lut.current?.key !== key) lut.current = { key, table: windowLut(info, w) };
    if (c.width !== info.columns || c.height !== info.rows) {
      c.width = info.columns;
      c.height = info.rows;
    }
    const out = ctx.createImageData(info.columns, info.rows);
    paint(values, info, lut.current.table, out.data);
    ctx.putImageData(out, 0, 0);
    drawn.current = { frame, key };
    afterPaint(firstShown.resolve);
    if (!win) setWin(w);
  }, [frame, meta, win, firstShown]);

  // The transform lives in the CSSOM, which the Content Security Policy allows.
  useEffect(() => {
    if (canvas.current) canvas.current.style.transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
  }, [view]);

  // Wheel scrolling needs a non-passive listener to keep the page still.
  useEffect(() => {
    const c = canvas.current?.parentElement;
    if (!c) return;
    const onWheel = (e: WheelEvent) => {
      e.preventDefault();
      setIndex((i) => Math.min(images.length - 1, Math.max(0, i + Math.sign(e.deltaY))));
    };
    c.addEventListener('wheel', onWheel, { passive: false });
    return () => c.removeEventListener('wheel', onWheel);
  }, [images.length]);

  const step = (d: number) => setIndex((i) => Math.min(images.length - 1, Math.max(0, i + d)));
  const zoomBy = (f: number) => setView((v) => ({ ...v, zoom: Math.min(16, Math.max(0.25, v.zoom * f)) }));
  const onKey = (e: KeyboardEvent) => {
    const pan = 20;
    // Key names as strings, not properties: a capitalised property holding a function reads as a component.
    const keys = new Map<string, () => void>([
      ['ArrowDown', () => (e.shiftKey ? setView((v) => ({ ...v, y: v.y + pan })) : step(1))],
      ['ArrowUp', () => (e.shiftKey ? setView((v) => ({ ...v, y: v.y - pan })) : step(-1))],
      ['ArrowRight', () => (e.shiftKey ? setView((v) => ({ ...v, x: v.x + pan })) : step(1))],
      ['ArrowLeft', () => (e.shiftKey ? setView((v) => ({ ...v, x: v.x - pan })) : step(-1))],
      ['PageDown', () => step(10)],
      ['PageUp', () => step(-10)],
      ['Home', () => setIndex(0)],
      ['End', () => setIndex(images.length - 1)],
      ['+', () => zoomBy(1.25)],
      ['-', () => zoomBy(0.8)],
      ['0', () => setView({ zoom: 1, x: 0, y: 0 })],
    ]);
    const f = keys.get(e.key);
    if (f) {
      e.preventDefault();
      f();
    }
  };

  const onPointerDown = (e: PointerEvent) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { x: e.clientX, y: e.clientY, win, view };
  };
  const onPointerMove = (e: PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    const dy = e.clientY - d.y;
    if (tool === 'window' && d.win)
      setWin({ center: Math.round(d.win.center + dy * 2), width: Math.max(1, Math.round(d.win.width + dx * 4)) });
    if (tool === 'pan') setView({ ...d.view, x: d.view.x + dx, y: d.view.y + dy });
    if (tool === 'zoom') setView({ ...d.view, zoom: Math.min(16, Math.max(0.25, d.view.zoom * Math.exp(-dy / 200))) });
  };
  const onPointerUp = () => {
    drag.current = null;
  };

  const tools: [Tool, string][] = [
    ['window', t('viewer.toolWindow')],
    ['pan', t('viewer.toolPan')],
    ['zoom', t('viewer.toolZoom')],
  ];
  const presets: [keyof typeof PRESETS, string][] = [
    ['lung', t('viewer.presetLung')],
    ['bone', t('viewer.presetBone')],
    ['softTissue', t('viewer.presetSoftTissue')],
  ];
  return (
    <div className="viewer">
      <div className="toolbar no-print" role="toolbar" aria-label={t('viewer.tools')}>
        {tools.map(([k, label]) => (
          <button key={k} type="button" aria-pressed={tool === k} onClick={() => setTool(k)}>
            {label}
          </button>
        ))}
        <span className="sep" />
        {presets.map(([k, label]) => (
          <button key={k} type="button" onClick={() => setWin(PRESETS[k])}>
            {label}
          </button>
        ))}
        <button type="button" onClick={() => setWin(meta?.window ?? null)}>
          {t('viewer.presetDefault')}
        </button>
        <button type="button" onClick={() => setView({ zoom: 1, x: 0, y: 0 })}>
          {t('viewer.reset')}
        </button>
      </div>
      <div
        className={`stage tool-${tool}`}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the stage takes the keyboard (arrows page, +/- zoom, see #viewer-keys), so it must be focusable
        tabIndex={0}
        role="img"
        aria-label={t('viewer.imageOf', { n: index + 1, total: images.length })}
        aria-describedby="viewer-keys"
        onKeyDown={onKey}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
      >
        <canvas ref={canvas} data-index={index} data-window={win ? `${win.center},${win.width}` : ''} />
        {overlay}
        {!(frame && meta) && <span className="overlay center">{t('common.loading')}</span>}
      </div>
      <p className="viewer-status" aria-live="polite">
        {t('viewer.status', {
          n: index + 1,
          total: images.length,
          center: win ? Math.round(win.center) : '–',
          width: win ? Math.round(win.width) : '–',
          zoom: Math.round(view.zoom * 100),
          loaded,
        })}
      </p>
      <p id="viewer-keys" className="hint no-print">
        {t('viewer.keys')}
      </p>
      {error && (
        <p role="alert" className="form-error">
          {t('viewer.frameError')}
        </p>
      )}
    </div>
  );
}
