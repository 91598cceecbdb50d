// The parts of cornerstone-core 2.x we use (the package ships no types).
declare module 'cornerstone-core' {
  export interface Image {
    imageId: string; minPixelValue: number; maxPixelValue: number; slope: number; intercept: number;
    windowCenter: number; windowWidth: number; getPixelData: () => Int16Array | Int32Array | Uint16Array;
    rows: number; columns: number; height: number; width: number; color: boolean; invert?: boolean;
    columnPixelSpacing: number; rowPixelSpacing: number; sizeInBytes: number;
  }
  export interface Viewport {
    scale: number; translation: { x: number; y: number }; voi: { windowWidth: number; windowCenter: number };
    invert?: boolean; colormap?: unknown; pixelReplication?: boolean;
    voiLUT?: { firstValueMapped: number; lut: number[] }; modalityLUT?: { firstValueMapped: number; lut: number[] };
  }
  export function enable(element: HTMLElement, options?: unknown): void;
  export function disable(element: HTMLElement): void;
  export function displayImage(element: HTMLElement, image: Image, viewport?: Partial<Viewport>): void;
  export function getViewport(element: HTMLElement): Viewport | undefined;
  export function setViewport(element: HTMLElement, viewport: Partial<Viewport>): void;
  export function resize(element: HTMLElement, fitToWindow?: boolean): void;
  export function fitToWindow(element: HTMLElement): void;
  export function pageToPixel(element: HTMLElement, pageX: number, pageY: number): { x: number; y: number };
  export function pixelToCanvas(element: HTMLElement, pt: { x: number; y: number }): { x: number; y: number };
  export function loadImage(imageId: string): { promise: Promise<Image> };
  export function registerImageLoader(scheme: string, loader: (imageId: string) => { promise: Promise<Image> }): void;
  export const colors: { getColormap(id: string, data?: unknown): unknown };
}
