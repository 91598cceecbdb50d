// xhr2 (no types): an XMLHttpRequest for Node, which dicomweb-client expects as a global.
declare module 'xhr2' {
  const XMLHttpRequest: unknown;
  export default XMLHttpRequest;
}
