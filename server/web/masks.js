// Masks on the page: COCO compressed RLE (what the server sends) decoded to
// a row-major Uint8Array, drawn onto canvases in a colour, measured for
// COCO records, and exported as COCO JSON and PNG files.

// COCO's compressed counts string → run lengths (pycocotools' rleFrString).
export function decodeCounts(counts) {
  const runs = [];
  let p = 0;
  while (p < counts.length) {
    let x = 0;
    let k = 0;
    let more = 1;
    while (more) {
      const c = counts.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (runs.length > 2) x += runs[runs.length - 2];
    runs.push(x);
  }
  return runs;
}

// {size: [h, w], counts} → {height, width, data: Uint8Array h*w row-major,
// 1 inside}. COCO runs are column-major, starting with background.
export function decodeRle(rle) {
  const [height, width] = rle.size;
  const data = new Uint8Array(height * width);
  const runs = decodeCounts(rle.counts);
  let i = 0;
  let value = 0;
  for (const run of runs) {
    if (value) {
      for (let k = i; k < i + run; k++) {
        const x = Math.floor(k / height);
        const y = k - x * height;
        data[y * width + x] = 1;
      }
    }
    i += run;
    value ^= 1;
  }
  return {height, width, data};
}

// A distinct colour per index, [r, g, b].
export function colour(index) {
  const hue = (index * 137.508) % 360;
  const s = 0.75;
  const l = 0.55;
  const f = (n) => {
    const k = (n + hue / 30) % 12;
    const a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

// Clears `canvas` (sized to the masks) and paints each {mask, rgb}: inside
// pixels get the colour with alpha 255, the rest stay transparent.
export function paint(canvas, layers) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(canvas.width, canvas.height);
  for (const {mask, rgb} of layers) {
    if (mask.width !== canvas.width || mask.height !== canvas.height) continue;
    for (let i = 0; i < mask.data.length; i++) {
      if (!mask.data[i]) continue;
      image.data[4 * i] = rgb[0];
      image.data[4 * i + 1] = rgb[1];
      image.data[4 * i + 2] = rgb[2];
      image.data[4 * i + 3] = 255;
    }
  }
  ctx.putImageData(image, 0, 0);
}

// Area and XYWH bounding box of a decoded mask.
export function measure(mask) {
  let area = 0;
  let x0 = mask.width, y0 = mask.height, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (!mask.data[y * mask.width + x]) continue;
      area++;
      x0 = Math.min(x0, x); y0 = Math.min(y0, y);
      x1 = Math.max(x1, x); y1 = Math.max(y1, y);
    }
  }
  return {area, bbox: area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0]};
}

// A COCO dataset: images [{id, file_name, width, height}] and annotations
// [{image_id, rle, category (object id), extra}].
export function cocoJson(images, annotations) {
  const categories = [...new Set(annotations.map((a) => a.category))].sort((a, b) => a - b);
  return {
    info: {description: "SAM 2 service annotations", date_created: new Date().toISOString()},
    images,
    categories: categories.map((id) => ({id, name: `object ${id}`})),
    annotations: annotations.map((a, i) => {
      const {area, bbox} = measure(decodeRle(a.rle));
      return {id: i + 1, image_id: a.image_id, category_id: a.category, iscrowd: 0,
              segmentation: a.rle, area, bbox, ...(a.extra || {})};
    }),
  };
}

export function download(name, blob) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export function downloadJson(name, value) {
  download(name, new Blob([JSON.stringify(value)], {type: "application/json"}));
}

// The layers as a PNG: a single mask white on black, several in their colours.
export function downloadPng(name, width, height, layers) {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "black";
  ctx.fillRect(0, 0, width, height);
  const painted = document.createElement("canvas");
  painted.width = width;
  painted.height = height;
  paint(painted, layers.length === 1 ? [{mask: layers[0].mask, rgb: [255, 255, 255]}] : layers);
  ctx.drawImage(painted, 0, 0);
  canvas.toBlob((blob) => download(name, blob), "image/png");
}
