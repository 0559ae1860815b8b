// autocannon ships no type declarations; api-load.ts types the part of its API it uses.
declare module 'autocannon' {
  const autocannon: unknown;
  export default autocannon;
}
