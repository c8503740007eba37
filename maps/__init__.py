"""Coverage analytics and folium maps (the mapping edge over the domain packages)."""
