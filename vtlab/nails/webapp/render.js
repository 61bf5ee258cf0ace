// Virtual polish on the camera frame: WebGL2 (one pass builds a nail-mask texture from the patch masks, one pass
// recolours the frame through it), with a 2D-canvas fallback that computes the same colours on the CPU
// (VtlabNails.polishPixel). Either way the frame and its polish are drawn together, in one call, so what is on
// screen is always a frame with its own overlay.
const N = self.VtlabNails;
const FEATHER = 0.15;   // polish fades in over mask probabilities threshold ± FEATHER: a soft edge about one camera pixel wide,
                        // half-covered on the mask's contour (an outward fade measured worse: more polish on skin than nail it gained)

// Patch pixel (u, v) of a nail sits at frame px x = (u - (P-1)/2)/s + cx with s = P/side (vtlab.nails.base.patch_affine),
// so the patch's square covers [cx + 0.5 - side/2, cx + 0.5 + side/2) in canvas coordinates (pixel corners).
function patchSquare(d) { return [d.center[0] + 0.5 - d.side / 2, d.center[1] + 0.5 - d.side / 2, d.side]; }

const MASK_VS = `#version 300 es
in vec2 corner;                 // (0..1)² over the patch square
uniform vec2 frameWH; uniform vec3 square;   // x0, y0 (canvas px), side
out vec2 tc; out vec2 px;
void main() {
  tc = corner; px = square.xy + corner * square.z;
  vec2 clip = px / frameWH * 2.0 - 1.0;
  gl_Position = vec4(clip.x, -clip.y, 0.0, 1.0);     // row 0 of the mask texture is the frame's top row
}`;
const MASK_FS = `#version 300 es
precision highp float;
in vec2 tc; in vec2 px;
uniform sampler2D atlas; uniform float slot, slots, P, thr, feather, nailL;
uniform vec2 nailCentre; uniform float nailAngle, nailSize;
out vec4 o;
void main() {
  vec2 t = clamp(tc, vec2(0.5 / P), vec2(1.0 - 0.5 / P));
  float p = texture(atlas, vec2((slot + t.x) / slots, t.y)).r;
  float cover = smoothstep(thr - feather, thr + feather, p);
  vec2 d = px - 0.5 - nailCentre;                    // pixel centre, frame px
  float c = cos(nailAngle), s = sin(nailAngle);
  float u = dot(d, vec2(c, s)) / nailSize, v = dot(d, vec2(-s, c)) / nailSize;
  float spec = exp(-0.5 * (pow(u / 0.22, 2.0) + pow((v + 0.16) / 0.06, 2.0)));
  o = vec4(cover, nailL, spec * step(0.01, cover), 1.0);
}`;
const COMP_VS = `#version 300 es
in vec2 corner; out vec2 uv;
void main() { uv = vec2(corner.x, 1.0 - corner.y); gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0); }`;
// The same formulas as VtlabNails.polishPixel (nails.js), per pixel.
const COMP_FS = `#version 300 es
precision highp float;
in vec2 uv; uniform sampler2D frame, mask; uniform vec3 polishLab; uniform vec4 finish; uniform bool show;
out vec4 o;
vec3 toLin(vec3 c) { return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c)); }
vec3 toSrgb(vec3 c) { return mix(12.92 * c, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c)); }
vec3 oklab(vec3 srgb) {
  vec3 c = toLin(srgb);
  vec3 lms = pow(vec3(dot(c, vec3(0.4122214708, 0.5363325363, 0.0514459929)), dot(c, vec3(0.2119034982, 0.6806995451, 0.1073969566)),
                      dot(c, vec3(0.0883024619, 0.2817188376, 0.6299787005))), vec3(1.0 / 3.0));
  return vec3(dot(lms, vec3(0.2104542553, 0.7936177850, -0.0040720468)), dot(lms, vec3(1.9779984951, -2.4285922050, 0.4505937099)),
              dot(lms, vec3(0.0259040371, 0.7827717662, -0.8086757660)));
}
vec3 srgb(vec3 lab) {
  vec3 lms = vec3(dot(lab, vec3(1.0, 0.3963377774, 0.2158037573)), dot(lab, vec3(1.0, -0.1055613458, -0.0638541728)),
                  dot(lab, vec3(1.0, -0.0894841775, -1.2914855480)));
  lms = lms * lms * lms;
  vec3 lin = vec3(dot(lms, vec3(4.0767416621, -3.3077115913, 0.2309699292)), dot(lms, vec3(-1.2684380046, 2.6097574011, -0.3413193965)),
                  dot(lms, vec3(-0.0041960863, -0.7034186147, 1.7076147010)));
  return clamp(toSrgb(clamp(lin, 0.0, 1.0)), 0.0, 1.0);
}
void main() {
  vec3 px = texture(frame, uv).rgb;
  vec4 m = texture(mask, vec2(uv.x, 1.0 - uv.y));   // r: coverage, g: nail mean L, b: highlight streak
  if (!show || m.r <= 0.0) { o = vec4(px, 1.0); return; }
  float shade = oklab(px).x - m.g;                   // finish: gain, chroma, highlight, tint
  float k = max(0.0, 1.0 + finish.y * shade);
  vec3 base = srgb(vec3(polishLab.x + finish.x * shade, polishLab.yz * k));
  float h = min(1.0, finish.z * (smoothstep(0.05, 0.18, shade) + m.b));
  vec3 hi = srgb(vec3(min(1.0, polishLab.x + 0.45), polishLab.yz * finish.w));
  o = vec4(mix(px, mix(base, max(base, hi), h), m.r), 1.0);
}`;

function compile(gl, vs, fs) {
  const prog = gl.createProgram();
  for (const [type, src] of [[gl.VERTEX_SHADER, vs], [gl.FRAGMENT_SHADER, fs]]) {
    const sh = gl.createShader(type); gl.shaderSource(sh, src); gl.compileShader(sh);
    if (!gl.getShaderParameter(sh, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(sh)}`);
    gl.attachShader(prog, sh);
  }
  gl.linkProgram(prog);
  if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(prog)}`);
  const u = {}, n = gl.getProgramParameter(prog, gl.ACTIVE_UNIFORMS);
  for (let i = 0; i < n; i++) { const name = gl.getActiveUniform(prog, i).name; u[name] = gl.getUniformLocation(prog, name); }
  return { prog, u };
}

function texture(gl, filter) {
  const t = gl.createTexture(); gl.bindTexture(gl.TEXTURE_2D, t);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter); gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE); gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  return t;
}

function webglRenderer(canvas) {
  const gl = canvas.getContext('webgl2', { alpha: false, antialias: false, preserveDrawingBuffer: false });
  if (!gl) return null;
  const maskP = compile(gl, MASK_VS, MASK_FS), compP = compile(gl, COMP_VS, COMP_FS);
  const quad = gl.createBuffer(); gl.bindBuffer(gl.ARRAY_BUFFER, quad);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
  const vao = gl.createVertexArray(); gl.bindVertexArray(vao);
  for (const p of [maskP, compP]) { const loc = gl.getAttribLocation(p.prog, 'corner'); gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0); }
  const frameTex = texture(gl, gl.LINEAR), atlasTex = texture(gl, gl.LINEAR), maskTex = texture(gl, gl.LINEAR);
  const fbo = gl.createFramebuffer();
  let W = 0, H = 0, atlas = null;
  return {
    kind: 'webgl',
    draw(bitmap, nails, style, show, P, thr) {
      if (bitmap.width !== W || bitmap.height !== H) {
        W = canvas.width = bitmap.width; H = canvas.height = bitmap.height;
        gl.bindTexture(gl.TEXTURE_2D, maskTex); gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, W, H, 0, gl.RGBA, gl.UNSIGNED_BYTE, null);
        gl.bindFramebuffer(gl.FRAMEBUFFER, fbo); gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, maskTex, 0);
      }
      gl.bindTexture(gl.TEXTURE_2D, frameTex); gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
      // pass 1: every nail's patch mask into the frame-sized mask texture (max where patches overlap)
      gl.bindFramebuffer(gl.FRAMEBUFFER, fbo); gl.viewport(0, 0, W, H); gl.clearColor(0, 0, 0, 0); gl.clear(gl.COLOR_BUFFER_BIT);
      if (show && nails.length) {
        const n = nails.length;
        if (!atlas || atlas.length !== n * P * P) atlas = new Uint8Array(n * P * P);
        nails.forEach((d, k) => { for (let v = 0; v < P; v++) for (let u = 0; u < P; u++) atlas[v * n * P + k * P + u] = Math.round(d.mask[v * P + u] * 255); });
        gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
        gl.bindTexture(gl.TEXTURE_2D, atlasTex); gl.texImage2D(gl.TEXTURE_2D, 0, gl.R8, n * P, P, 0, gl.RED, gl.UNSIGNED_BYTE, atlas);
        gl.useProgram(maskP.prog); const u = maskP.u;
        gl.uniform1i(u.atlas, 0); gl.uniform2f(u.frameWH, W, H); gl.uniform1f(u.slots, n); gl.uniform1f(u.P, P);
        gl.uniform1f(u.thr, thr); gl.uniform1f(u.feather, FEATHER);
        gl.enable(gl.BLEND); gl.blendEquation(gl.MAX);
        nails.forEach((d, k) => {
          const c = d.nail_center || d.center;
          gl.uniform1f(u.slot, k); gl.uniform3f(u.square, ...patchSquare(d)); gl.uniform1f(u.nailL, d.lightness);
          gl.uniform2f(u.nailCentre, c[0], c[1]); gl.uniform1f(u.nailAngle, d.angle); gl.uniform1f(u.nailSize, Math.max(d.size_px, 1));
          gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
        });
        gl.disable(gl.BLEND);
      }
      // pass 2: the frame, recoloured where the mask says
      gl.bindFramebuffer(gl.FRAMEBUFFER, null); gl.viewport(0, 0, W, H);
      gl.useProgram(compP.prog); const u = compP.u;
      gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D, frameTex); gl.uniform1i(u.frame, 0);
      gl.activeTexture(gl.TEXTURE1); gl.bindTexture(gl.TEXTURE_2D, maskTex); gl.uniform1i(u.mask, 1);
      gl.uniform3f(u.polishLab, ...style.lab); gl.uniform4f(u.finish, style.finish.gain, style.finish.chroma, style.finish.highlight, style.finish.tint);
      gl.uniform1i(u.show, show ? 1 : 0);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      gl.activeTexture(gl.TEXTURE0);
    },
  };
}

function canvas2dRenderer(canvas) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  return {
    kind: '2d',
    draw(bitmap, nails, style, show, P, thr) {
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
      ctx.drawImage(bitmap, 0, 0);
      if (!show) return;
      if (!style.table) style.table = N.polishTable(style.lab, style.finishName);   // once per polish and finish
      const table = style.table, out = [0, 0, 0];
      for (const d of nails) {
        const [x0f, y0f, side] = patchSquare(d), s = P / side, c = d.nail_center || d.center;
        const x0 = Math.max(0, Math.floor(x0f)), y0 = Math.max(0, Math.floor(y0f));
        const x1 = Math.min(canvas.width, Math.ceil(x0f + side)), y1 = Math.min(canvas.height, Math.ceil(y0f + side));
        if (x1 <= x0 || y1 <= y0) continue;
        const img = ctx.getImageData(x0, y0, x1 - x0, y1 - y0), px = img.data;
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
          // bilinear mask lookup at the pixel centre, in patch pixel coordinates (texel centres at integers)
          const u = (x + 0.5 - x0f) * s - 0.5, v = (y + 0.5 - y0f) * s - 0.5;
          const iu = Math.min(Math.max(Math.floor(u), 0), P - 2), iv = Math.min(Math.max(Math.floor(v), 0), P - 2);
          const fu = Math.min(Math.max(u - iu, 0), 1), fv = Math.min(Math.max(v - iv, 0), 1), m = d.mask;
          const p = (m[iv * P + iu] * (1 - fu) + m[iv * P + iu + 1] * fu) * (1 - fv) + (m[(iv + 1) * P + iu] * (1 - fu) + m[(iv + 1) * P + iu + 1] * fu) * fv;
          const cover = N.smoothstep(thr - FEATHER, thr + FEATHER, p);
          if (cover <= 0) continue;
          const i = ((y - y0) * (x1 - x0) + (x - x0)) * 4;
          N.polishFast(px[i], px[i + 1], px[i + 2], d.lightness, table, N.nailHighlight(x, y, c, d.angle, Math.max(d.size_px, 1)), out);
          for (let ch = 0; ch < 3; ch++) px[i + ch] = Math.round(px[i + ch] + (255 * out[ch] - px[i + ch]) * cover);
        }
        ctx.putImageData(img, x0, y0);
      }
    },
  };
}

// Whether WebGL would run on a software rasteriser (SwiftShader, llvmpipe: no GPU). There the shader's per-pixel work
// for the whole frame costs more CPU than the 2D path's work on the nails' pixels alone, and it competes with inference.
function softwareWebGL() {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return /swiftshader|llvmpipe|software/i.test(name) ? name : null;
  } catch (e) { return null; }
}

// want: 'auto' (WebGL2 on a real GPU, else the 2D canvas), 'webgl' or '2d'.
// A canvas that once gave a WebGL context cannot give a 2D one, so a failed WebGL set-up falls back on a fresh copy.
export function createRenderer(canvas, want) {
  if (want === '2d') return { renderer: canvas2dRenderer(canvas), canvas, note: null };
  const sw = want === 'auto' ? softwareWebGL() : null;
  if (sw) return { renderer: canvas2dRenderer(canvas), canvas, note: null, why: `WebGL renderer ${sw} is software: 2D canvas` };
  try { const r = webglRenderer(canvas); if (r) return { renderer: r, canvas, note: null }; }
  catch (e) {
    const fresh = canvas.cloneNode(); canvas.replaceWith(fresh);
    return { renderer: canvas2dRenderer(fresh), canvas: fresh, note: `WebGL failed (${e.message || e}): drawing with the 2D canvas (slower)` };
  }
  return { renderer: canvas2dRenderer(canvas), canvas, note: 'WebGL2 is not available here: drawing with the 2D canvas (slower)' };
}

export function polishStyle(hex, finishName) {
  const finish = N.FINISHES[finishName] ? finishName : 'gloss';
  return { hex, lab: N.srgbToOklab(N.hexToRgb(hex)), finish: N.FINISHES[finish], finishName: finish };
}
