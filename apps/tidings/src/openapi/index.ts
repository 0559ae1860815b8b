export { appPaths, type HealthBody, healthSchema } from './app-paths.js';
export {
  apiPrefix,
  dashboardPaths,
  docsPath,
  healthPath,
  openApiPath,
  type Route,
  readyPath,
  serveRoutes,
} from './routes.js';
export { metricsOnMainPort, serveDocument } from './serve-document.js';
