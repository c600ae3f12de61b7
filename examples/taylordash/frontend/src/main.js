import './style.css';

// Relative URLs only: the same build works behind Traefik (one host name) and
// behind the vite dev proxy.
const API = '/api/projects';

const list = document.getElementById('projects');
const form = document.getElementById('create-form');
const errorBox = document.getElementById('error');
const nameInput = document.getElementById('name');
const descriptionInput = document.getElementById('description');

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

async function apiError(response) {
  let detail = response.statusText;
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') {
      detail = body.detail;
    } else if (Array.isArray(body.detail)) {
      // FastAPI's 422: a list of {loc, msg}
      detail = body.detail.map((item) => `${item.loc.at(-1)}: ${item.msg}`).join('; ');
    } else {
      detail = JSON.stringify(body);
    }
  } catch {
    // not JSON: keep the status text
  }
  return new Error(`${response.status} ${detail}`);
}

function renderProjects(projects) {
  list.replaceChildren(
    ...projects.map((project) => {
      const item = document.createElement('li');
      item.dataset.id = String(project.id);
      const name = document.createElement('strong');
      name.textContent = project.name;
      item.append(name);
      if (project.description) {
        const description = document.createElement('small');
        description.textContent = project.description;
        item.append(description);
      }
      return item;
    }),
  );
}

async function loadProjects() {
  const response = await fetch(API, { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await apiError(response);
  renderProjects(await response.json());
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {
    name: nameInput.value.trim(),
    description: descriptionInput.value,
  };
  try {
    const response = await fetch(API, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
    // 502 means the row was stored but the event was not published: still reload.
    if (!response.ok) {
      const error = await apiError(response);
      if (response.status !== 502) throw error;
      showError(error.message);
    } else {
      showError('');
      form.reset();
    }
    await loadProjects();
  } catch (error) {
    showError(error.message);
  }
});

loadProjects().catch((error) => showError(error.message));
