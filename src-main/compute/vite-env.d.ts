// Vite turns `import url from 'file?url'` into the emitted asset's URL.
declare module '*?url' {
  const url: string;
  export default url;
}
