/** Values `global-setup.ts` provides to tests and to the Worker's config (`inject`). */
declare module "vitest" {
  export interface ProvidedContext {
    /** Base URL of the simulated origins, e.g. `http://127.0.0.1:41234`. */
    simUrl: string;
  }
}
export {};
