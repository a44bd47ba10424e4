/**
 * The part of the WebAssembly JavaScript API the hosts and tests use, typed. TypeScript declares these types
 * only in lib.dom, which this project's tsconfig (lib ES2023, Node) leaves out; `WebAssembly.Module` itself is
 * an opaque global interface (declared empty by esbuild's types for the same reason).
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

export interface WasmImportDescriptor {
  module: string;
  name: string;
  kind: string;
}

export interface WasmExportDescriptor {
  name: string;
  kind: string;
}

interface WasmApi {
  compile(bytes: Uint8Array): Promise<WebAssembly.Module>;
  instantiate(module: WebAssembly.Module, imports: object): Promise<WasmInstance>;
  Module: {
    imports(module: WebAssembly.Module): WasmImportDescriptor[];
    exports(module: WebAssembly.Module): WasmExportDescriptor[];
  };
  RuntimeError: abstract new (...args: never[]) => Error;
}

export const wasmApi: WasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
