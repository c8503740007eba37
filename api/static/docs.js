// Swagger UI for /docs, from the app's own copy: no CDN, and no inline script (the
// Content-Security-Policy allows scripts from the app alone). The settings are FastAPI's.
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: false, // its path links sit inside buttons (nested controls: not accessible)
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
